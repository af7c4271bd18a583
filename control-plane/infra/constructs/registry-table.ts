import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { registryTableDefinition } from '../../../core/registry/table.js';
import { ITEM_ACTIONS } from '../../../templates/index.js';
import { ResourceGroup } from './resource-group.js';

export interface RegistryTableProps {
  /** The table's name (`REGISTRY_TABLE`); its keys and indexes are `registryTableDefinition`'s. */
  readonly tableName: string;
}

/**
 * The registry table, declared from `registryTableDefinition` (the same request local mode sends
 * CreateTable), with point-in-time recovery and deletion protection, retained with the stack.
 */
export class RegistryTable extends ResourceGroup {
  readonly table: dynamodb.Table;
  /** The table's ARN and each index's: what a registry user's statement covers. */
  readonly resources: readonly string[];

  constructor(scope: Construct, id: string, props: RegistryTableProps) {
    super(scope, id);
    const definition = registryTableDefinition(props.tableName);
    const attribute = (name: string | undefined): dynamodb.Attribute => {
      const found = definition.AttributeDefinitions?.find((a) => a.AttributeName === name);
      if (!found?.AttributeName) throw new Error(`registry table: no attribute definition for ${name}`);
      const type = {
        S: dynamodb.AttributeType.STRING,
        N: dynamodb.AttributeType.NUMBER,
        B: dynamodb.AttributeType.BINARY,
      }[found.AttributeType as 'S' | 'N' | 'B'];
      return { name: found.AttributeName, type };
    };
    const keys = (schema: { AttributeName?: string; KeyType?: string }[] | undefined) => {
      const sort = schema?.find((k) => k.KeyType === 'RANGE');
      return {
        partitionKey: attribute(schema?.find((k) => k.KeyType === 'HASH')?.AttributeName),
        ...(sort ? { sortKey: attribute(sort.AttributeName) } : {}),
      };
    };
    this.table = new dynamodb.Table(this, 'Registry', {
      tableName: definition.TableName,
      ...keys(definition.KeySchema),
      billingMode:
        definition.BillingMode === 'PAY_PER_REQUEST'
          ? dynamodb.BillingMode.PAY_PER_REQUEST
          : dynamodb.BillingMode.PROVISIONED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of definition.GlobalSecondaryIndexes ?? []) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.IndexName!,
        ...keys(index.KeySchema),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    this.resources = [
      this.table.tableArn,
      ...(definition.GlobalSecondaryIndexes ?? []).map((i) => `${this.table.tableArn}/index/${i.IndexName}`),
    ];
  }

  /** The registry's item operations (no Scan, no table changes), on the table and its indexes. */
  grantReadWrite(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'Registry',
        // Items one at a time or in transactions (the registry never batch-writes), and the table's status.
        actions: [...ITEM_ACTIONS.filter((a) => a !== 'dynamodb:BatchWriteItem'), 'dynamodb:DescribeTable'],
        resources: [...this.resources],
      }),
    );
  }
}
