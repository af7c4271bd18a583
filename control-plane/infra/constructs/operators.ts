import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type { Construct } from 'constructs';
import { ResourceGroup } from './resource-group.js';

/** Operator groups: a member's JWT carries `cognito:groups`, which the API maps to scopes. */
export const OPERATOR_GROUPS = ['admin', 'tenants:read', 'tenants:write'] as const;

export interface OperatorsProps {
  /** The resource prefix: the pool is `<prefix>-operators`, its CLI client `<prefix>-tenantctl`. */
  readonly prefix: string;
}

/**
 * The operators' user pool, the API's JWT issuer: admin-created users with MFA required, one group
 * per API scope (OPERATOR_GROUPS), and the client tenantctl signs in with (SRP).
 */
export class Operators extends ResourceGroup {
  readonly userPool: cognito.UserPool;
  readonly client: cognito.UserPoolClient;
  /** `https://cognito-idp.<region>.<suffix>/<pool id>`: the API's JWT_ISSUER. */
  readonly jwtIssuer: string;

  constructor(scope: Construct, id: string, props: OperatorsProps) {
    super(scope, id);
    const { prefix } = props;
    this.userPool = new cognito.UserPool(this, 'Operators', {
      userPoolName: `${prefix}-operators`,
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const group of OPERATOR_GROUPS) {
      new cognito.CfnUserPoolGroup(this, `OperatorGroup-${group.replace(':', '-')}`, {
        userPoolId: this.userPool.userPoolId,
        groupName: group,
        description: `Operators with the ${group} scope`,
      });
    }
    this.client = this.userPool.addClient('Cli', {
      userPoolClientName: `${prefix}-tenantctl`,
      authFlows: { userSrp: true },
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
    });
    this.jwtIssuer = `https://cognito-idp.${Aws.REGION}.${Aws.URL_SUFFIX}/${this.userPool.userPoolId}`;
  }
}
