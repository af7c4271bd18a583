import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Config } from '../core/config.js';
import { ControlPlaneError } from '../core/errors.js';
import { SECRET_ARN_VARIABLES } from './infra/contract.js';

/** Settings held in Secrets Manager (ARNs in SECRET_ARN_VARIABLES), read once per container. */
export async function readSecretSettings(
  env: NodeJS.ProcessEnv,
  client: Pick<SecretsManagerClient, 'send'> = new SecretsManagerClient({}),
): Promise<Partial<Pick<Config, keyof typeof SECRET_ARN_VARIABLES>>> {
  const entries = await Promise.all(
    Object.entries(SECRET_ARN_VARIABLES).map(async ([setting, variable]) => {
      const arn = env[variable];
      if (!arn) return [setting, undefined] as const;
      const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
      if (!out.SecretString)
        throw new ControlPlaneError('CONFIG_INVALID', `secret ${arn} (${variable}) holds no string value`);
      return [setting, out.SecretString] as const;
    }),
  );
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined));
}
