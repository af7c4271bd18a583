import { CfnDeletionPolicy, Fn, type IResolvable, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { POSTGRES_ENGINE_VERSION, POSTGRES_PORT } from '../constants.js';
import type { DeclaredParameters } from './common.js';

export interface TenantDatabaseProps {
  /** VPC of the database (a parameter Ref for bridge, the silo VPC for silo). */
  readonly vpcId: string;
  /** Isolated subnets in at least two AZs. */
  readonly subnetIds: string[];
  /** For descriptions. */
  readonly tenantSlug: string;
  readonly instanceClass: string;
  /** GiB, a Number parameter's Ref. */
  readonly allocatedStorage: string;
  /** A Ref to a String parameter of 'true' | 'false'. */
  readonly multiAz: boolean | IResolvable;
  readonly backupRetentionDays: number;
}

/** The database settings a bridge or silo template takes as parameters, in the given network. */
export function databaseProps(
  p: DeclaredParameters,
  network: Pick<TenantDatabaseProps, 'vpcId' | 'subnetIds'>,
): TenantDatabaseProps {
  return {
    ...network,
    tenantSlug: p('TenantSlug').valueAsString,
    instanceClass: p('DbInstanceClass').valueAsString,
    allocatedStorage: p('DbAllocatedStorage').valueAsString,
    multiAz: p('DbMultiAz').value,
    backupRetentionDays: p('DbBackupRetentionDays').valueAsNumber,
  };
}

const MASTER_USERNAME = 'tenant_admin';

/**
 * A tenant's own PostgreSQL instance: encrypted with the tenant's own KMS key, master credentials
 * generated into Secrets Manager (encrypted with the same key), reachable only from the tenant's
 * client security group, and snapshotted when the stack deletes it.
 */
export class TenantDatabase extends Construct {
  readonly key: kms.Key;
  readonly secret: secretsmanager.Secret;
  readonly instance: rds.CfnDBInstance;
  /** Attach this to the tenant's compute to reach the database. */
  readonly clientSecurityGroup: ec2.CfnSecurityGroup;

  constructor(scope: Construct, id: string, props: TenantDatabaseProps) {
    super(scope, id);
    // Retained: the final snapshot is encrypted with this key and must stay restorable.
    this.key = new kms.Key(this, 'Key', {
      description: Fn.join('', ['Storage and secrets of tenant ', props.tenantSlug]),
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const dbSecurityGroup = new ec2.CfnSecurityGroup(this, 'SecurityGroup', {
      vpcId: props.vpcId,
      groupDescription: 'Database of the tenant',
      // The database initiates nothing; this rule replaces the default allow-all egress.
      securityGroupEgress: [
        {
          ipProtocol: 'icmp',
          fromPort: 252,
          toPort: 86,
          cidrIp: '255.255.255.255/32',
          description: 'Disallow all traffic',
        },
      ],
    });
    this.clientSecurityGroup = new ec2.CfnSecurityGroup(this, 'ClientSecurityGroup', {
      vpcId: props.vpcId,
      groupDescription: 'Clients of the tenant database',
      securityGroupEgress: [
        {
          ipProtocol: 'tcp',
          fromPort: POSTGRES_PORT,
          toPort: POSTGRES_PORT,
          destinationSecurityGroupId: dbSecurityGroup.attrGroupId,
          description: 'PostgreSQL of this tenant only',
        },
      ],
    });
    new ec2.CfnSecurityGroupIngress(this, 'IngressFromClients', {
      groupId: dbSecurityGroup.attrGroupId,
      sourceSecurityGroupId: this.clientSecurityGroup.attrGroupId,
      ipProtocol: 'tcp',
      fromPort: POSTGRES_PORT,
      toPort: POSTGRES_PORT,
      description: "PostgreSQL from the tenant's clients",
    });

    const subnetGroup = new rds.CfnDBSubnetGroup(this, 'SubnetGroup', {
      dbSubnetGroupDescription: Fn.join('', ['Database subnets of tenant ', props.tenantSlug]),
      subnetIds: props.subnetIds,
    });

    this.secret = new secretsmanager.Secret(this, 'Credentials', {
      description: Fn.join('', ['Master credentials of the database of tenant ', props.tenantSlug]),
      encryptionKey: this.key,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: MASTER_USERNAME }),
        generateStringKey: 'password',
        passwordLength: 32,
        // Characters RDS or connection strings trip over.
        excludeCharacters: ' %+~`#$&*()|[]{}:;<>?!\'/@"\\',
      },
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotation needs a rotation Lambda inside the tenant network plus a Secrets Manager endpoint; the templates stay free of code assets. IAM database authentication is on, so applications use IAM tokens and this master secret is break-glass only.',
    });

    this.instance = new rds.CfnDBInstance(this, 'Instance', {
      engine: 'postgres',
      engineVersion: POSTGRES_ENGINE_VERSION,
      dbInstanceClass: props.instanceClass,
      allocatedStorage: props.allocatedStorage,
      storageType: 'gp3',
      multiAz: props.multiAz,
      backupRetentionPeriod: props.backupRetentionDays,
      storageEncrypted: true,
      kmsKeyId: this.key.keyArn,
      dbSubnetGroupName: subnetGroup.ref,
      vpcSecurityGroups: [dbSecurityGroup.attrGroupId],
      port: String(POSTGRES_PORT),
      masterUsername: this.secret.secretValueFromJson('username').unsafeUnwrap(),
      masterUserPassword: this.secret.secretValueFromJson('password').unsafeUnwrap(),
      enableIamDatabaseAuthentication: true,
      publiclyAccessible: false,
      autoMinorVersionUpgrade: true,
      copyTagsToSnapshot: true,
      deletionProtection: false,
    });
    this.instance.cfnOptions.deletionPolicy = CfnDeletionPolicy.SNAPSHOT;
    this.instance.cfnOptions.updateReplacePolicy = CfnDeletionPolicy.SNAPSHOT;
    Validations.of(this.instance).acknowledge(
      {
        id: 'AwsSolutions-RDS10',
        reason:
          'Deleting the tenant stack is the offboarding path and must not need a prior instance update; DeletionPolicy Snapshot keeps a final snapshot and silo stacks carry termination protection.',
      },
      {
        id: 'AwsSolutions-RDS11',
        reason:
          "The default port is reachable only from the tenant's client security group; a different port number adds no isolation.",
      },
      {
        id: 'AwsSolutions-RDS13',
        reason:
          'Backup retention is a tier choice set through the DbBackupRetentionDays parameter, whose MinValue of 1 keeps automated backups on.',
      },
      {
        id: 'AwsSolutions-RDS3',
        reason:
          'Multi-AZ is a tier choice, set per tenant through the DbMultiAz parameter from the tier catalog.',
      },
    );

    new secretsmanager.CfnSecretTargetAttachment(this, 'CredentialsAttachment', {
      secretId: this.secret.secretArn,
      targetId: this.instance.ref,
      targetType: 'AWS::RDS::DBInstance',
    });
  }

  /** Lets the tenant role read the master credentials (and decrypt them with the tenant key). */
  grantCredentialsRead(grantee: iam.IGrantable): void {
    this.secret.grantRead(grantee);
  }
}
