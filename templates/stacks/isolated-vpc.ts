import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface IsolatedVpcProps {
  /** The VPC's IPv4 CIDR. */
  readonly cidr: string;
  /** How long flow logs are kept. @default logs.RetentionDays.THREE_MONTHS */
  readonly flowLogRetention?: logs.RetentionDays;
}

/**
 * A VPC with isolated subnets only, in two AZs: no internet gateway, no NAT, so nothing in it
 * reaches or is reached from the internet. (No NAT also keeps moto able to update the stack.) All
 * traffic is recorded in VPC flow logs.
 */
export class IsolatedVpc extends Construct {
  readonly vpc: ec2.Vpc;

  constructor(scope: Construct, id: string, props: IsolatedVpcProps) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr),
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 20 }],
      // true would add a Lambda-backed custom resource, which needs a bootstrapped asset bucket;
      // the templates must deploy as bare CloudFormation.
      restrictDefaultSecurityGroup: false,
    });
    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.flowLogRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
  }

  get isolatedSubnetIds(): string[] {
    return this.vpc.isolatedSubnets.map((s) => s.subnetId);
  }
}
