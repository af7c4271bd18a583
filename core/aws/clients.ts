import { ACMClient } from '@aws-sdk/client-acm';
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { CostExplorerClient } from '@aws-sdk/client-cost-explorer';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SFNClient } from '@aws-sdk/client-sfn';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AwsCredentialIdentity } from '@smithy/types';

/** Where AWS calls go. `endpoint` is set for moto/LocalStack and undefined on real AWS. */
export interface AwsTarget {
  readonly region: string;
  readonly endpoint?: string | undefined;
  readonly credentials?: AwsCredentialIdentity | undefined;
  /** SDK attempts per call (first try included); the SDK backs off with jitter between them. */
  readonly maxAttempts?: number;
  /**
   * Applied to every client's middleware stack; the fault-injection test layer hooks in here.
   * Never set in production configuration.
   */
  readonly instrument?: (client: { middlewareStack: unknown }) => void;
}

/** moto accepts any credentials; fixed ones keep the SDK from searching the machine for real ones. */
export const EMULATOR_CREDENTIALS: AwsCredentialIdentity = {
  accessKeyId: 'testing',
  secretAccessKey: 'testing',
};

export interface AwsClients {
  readonly target: AwsTarget;
  readonly dynamodb: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  readonly cloudformation: CloudFormationClient;
  readonly cognito: CognitoIdentityProviderClient;
  readonly apigateway: APIGatewayClient;
  readonly eventbridge: EventBridgeClient;
  readonly organizations: OrganizationsClient;
  readonly sts: STSClient;
  readonly sfn: SFNClient;
  readonly s3: S3Client;
  readonly rds: RDSClient;
  /** Custom-domain certificates (core/tenant-config). */
  readonly acm: ACMClient;
  /** Quota pre-checks (core/quotas): limits, and VPC / Elastic IP usage. */
  readonly serviceQuotas: ServiceQuotasClient;
  readonly ec2: EC2Client;
  /** Quota pre-checks: the account's Lambda concurrency (GetAccountSettings). */
  readonly lambda: LambdaClient;
  /** Cost Explorer: its one endpoint is in us-east-1, whatever the control plane's region. */
  readonly costExplorer: CostExplorerClient;
  /** Tenant roles' suspension deny policy. */
  readonly iam: IAMClient;
  /** Clients for another account (dedicated-account tenants), same endpoint and region. */
  withCredentials(credentials: AwsCredentialIdentity): AwsClients;
  /**
   * Clients for another region (tenants placed there), same endpoint, credentials and
   * instrumentation; one set per region, made on first use and destroyed with these.
   */
  forRegion(region: string): AwsClients;
  destroy(): void;
}

/** One set of SDK clients per target, created on first use. */
export function createAwsClients(target: AwsTarget): AwsClients {
  const regions = new Map<string, AwsClients>();
  const base = {
    region: target.region,
    maxAttempts: target.maxAttempts ?? 6,
    ...(target.endpoint ? { endpoint: target.endpoint } : {}),
    ...(target.credentials
      ? { credentials: target.credentials }
      : target.endpoint
        ? { credentials: EMULATOR_CREDENTIALS }
        : {}),
  };
  const made: { destroy(): void }[] = [];
  const lazy = <T extends { destroy(): void; middlewareStack: unknown }>(
    make: () => T,
    instrument = true,
  ): (() => T) => {
    let client: T | undefined;
    return () => {
      if (!client) {
        client = make();
        if (instrument) target.instrument?.(client);
        made.push(client);
      }
      return client;
    };
  };
  const dynamodb = lazy(() => new DynamoDBClient(base));
  // The document client sends through a copy of the DynamoDB client's stack: instrumented already.
  const documents = lazy(
    () =>
      DynamoDBDocumentClient.from(dynamodb(), {
        marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
      }),
    false,
  );
  const cloudformation = lazy(() => new CloudFormationClient(base));
  const cognito = lazy(() => new CognitoIdentityProviderClient(base));
  const apigateway = lazy(() => new APIGatewayClient(base));
  const eventbridge = lazy(() => new EventBridgeClient(base));
  const organizations = lazy(() => new OrganizationsClient(base));
  const sts = lazy(() => new STSClient(base));
  const sfn = lazy(() => new SFNClient(base));
  const s3 = lazy(() => new S3Client({ ...base, forcePathStyle: Boolean(target.endpoint) }));
  const rds = lazy(() => new RDSClient(base));
  const acm = lazy(() => new ACMClient(base));
  const serviceQuotas = lazy(() => new ServiceQuotasClient(base));
  const ec2 = lazy(() => new EC2Client(base));
  const lambda = lazy(() => new LambdaClient(base));
  const costExplorer = lazy(() => new CostExplorerClient({ ...base, region: 'us-east-1' }));
  const iam = lazy(() => new IAMClient(base));
  const self: AwsClients = {
    target,
    get dynamodb() {
      return dynamodb();
    },
    get documents() {
      return documents();
    },
    get cloudformation() {
      return cloudformation();
    },
    get cognito() {
      return cognito();
    },
    get apigateway() {
      return apigateway();
    },
    get eventbridge() {
      return eventbridge();
    },
    get organizations() {
      return organizations();
    },
    get sts() {
      return sts();
    },
    get sfn() {
      return sfn();
    },
    get s3() {
      return s3();
    },
    get rds() {
      return rds();
    },
    get acm() {
      return acm();
    },
    get lambda() {
      return lambda();
    },
    get serviceQuotas() {
      return serviceQuotas();
    },
    get ec2() {
      return ec2();
    },
    get costExplorer() {
      return costExplorer();
    },
    get iam() {
      return iam();
    },
    withCredentials: (credentials) => createAwsClients({ ...target, credentials }),
    forRegion(region) {
      if (region === target.region) return self;
      let clients = regions.get(region);
      if (!clients) {
        clients = createAwsClients({ ...target, region });
        regions.set(region, clients);
      }
      return clients;
    },
    destroy: () => {
      for (const c of made.splice(0)) c.destroy();
      for (const c of regions.values()) c.destroy();
      regions.clear();
    },
  };
  return self;
}
