import {
  AdminInitiateAuthCommand,
  AdminSetUserPasswordCommand,
  CreateUserPoolClientCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { createLocalJWKSet, type JWTVerifyGetKey } from 'jose';
import type { AwsClients } from '../../core/aws/clients.js';
import { createTenantTokenVerifier, type TenantTokenVerifier } from '../../tenant-access/index.js';
import { TenantUsers } from '../../workflows/index.js';
import { testEndpoint } from './aws.js';
import type { TestControlPlane } from './control-plane.js';

/** A tenant user's real Cognito tokens from moto (which signs them with its pool's key and serves its JWKS). */
export interface PoolTokens {
  readonly idToken: string;
  readonly accessToken: string;
  readonly refreshToken: string;
}

export const PASSWORD = 'Correct-Horse-7-Battery!';

export async function poolClient(clients: AwsClients, userPoolId: string): Promise<string> {
  const out = await clients.cognito.send(
    new CreateUserPoolClientCommand({
      UserPoolId: userPoolId,
      ClientName: 'tenant-app',
      ExplicitAuthFlows: ['ALLOW_ADMIN_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
    }),
  );
  return out.UserPoolClient!.ClientId!;
}

export async function signIn(
  clients: AwsClients,
  userPoolId: string,
  clientId: string,
  username: string,
): Promise<PoolTokens> {
  await clients.cognito.send(
    new AdminSetUserPasswordCommand({
      UserPoolId: userPoolId,
      Username: username,
      Password: PASSWORD,
      Permanent: true,
    }),
  );
  const out = await clients.cognito.send(
    new AdminInitiateAuthCommand({
      UserPoolId: userPoolId,
      ClientId: clientId,
      AuthFlow: 'ADMIN_USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: username, PASSWORD },
    }),
  );
  const r = out.AuthenticationResult!;
  return { idToken: r.IdToken!, accessToken: r.AccessToken!, refreshToken: r.RefreshToken! };
}

/** Refreshes with a refresh token: the call a signed-out user can no longer make. */
export async function refresh(
  clients: AwsClients,
  userPoolId: string,
  clientId: string,
  refreshToken: string,
): Promise<string> {
  const out = await clients.cognito.send(
    new AdminInitiateAuthCommand({
      UserPoolId: userPoolId,
      ClientId: clientId,
      AuthFlow: 'REFRESH_TOKEN_AUTH',
      AuthParameters: { REFRESH_TOKEN: refreshToken },
    }),
  );
  return out.AuthenticationResult!.IdToken!;
}

/** The pool's issuer (as moto writes it in tokens) and its JWKS, fetched from moto on loopback. */
export async function poolKeys(userPoolId: string): Promise<{ issuer: string; jwks: JWTVerifyGetKey }> {
  const res = await fetch(`${testEndpoint()}/${userPoolId}/.well-known/jwks.json`);
  if (!res.ok) throw new Error(`moto JWKS answered ${res.status}`);
  return {
    issuer: `https://cognito-idp.us-east-1.amazonaws.com/${userPoolId}`,
    jwks: createLocalJWKSet((await res.json()) as Parameters<typeof createLocalJWKSet>[0]),
  };
}

export const claimsOf = (jwt: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

/** A test control plane's tenant users, an app client of its pool and a verifier of that client's ID tokens. */
export async function tenantAccessOn(
  cp: TestControlPlane,
): Promise<{ users: TenantUsers; clientId: string; verify: TenantTokenVerifier }> {
  const users = new TenantUsers({
    registry: cp.aws.registry,
    cognito: cp.aws.clients.cognito,
    userPoolId: async () => cp.platform.userPoolId,
  });
  const clientId = await poolClient(cp.aws.clients, cp.platform.userPoolId);
  const keys = await poolKeys(cp.platform.userPoolId);
  return {
    users,
    clientId,
    verify: createTenantTokenVerifier({ ...keys, audience: clientId, tokenUse: 'id' }),
  };
}
