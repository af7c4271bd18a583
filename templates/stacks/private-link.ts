import { Aws, CfnCondition, Fn, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';

export interface PrivateLinkServiceProps {
  /** The VPC whose isolated subnets hold the load balancer. */
  readonly vpc: ec2.IVpc;
  /** Principal ARNs allowed to connect (a CommaDelimitedList Ref; may be the empty list). */
  readonly allowedPrincipals: string[];
  /** TCP port the service listens on. @default 443 */
  readonly port?: number;
}

/**
 * The tenant's service behind PrivateLink: an internal NLB (targets registered by the application
 * plane, by IP, in the tenant VPC) exposed as a VPC endpoint service whose connections the tenant
 * must accept, open only to the principals the tenant named.
 */
export class PrivateLinkService extends Construct {
  readonly loadBalancer: elbv2.NetworkLoadBalancer;
  readonly targetGroup: elbv2.NetworkTargetGroup;
  readonly endpointService: ec2.CfnVPCEndpointService;
  /** `com.amazonaws.vpce.<region>.<service id>`, what consumers pass to CreateVpcEndpoint. */
  readonly serviceName: string;

  constructor(scope: Construct, id: string, props: PrivateLinkServiceProps) {
    super(scope, id);
    const port = props.port ?? 443;
    this.loadBalancer = new elbv2.NetworkLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      crossZoneEnabled: true,
    });
    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason:
        "NLB access logs record TLS listeners only and this one is TCP; connections are recorded in the tenant VPC's flow logs.",
    });
    this.targetGroup = new elbv2.NetworkTargetGroup(this, 'Targets', {
      vpc: props.vpc,
      port,
      protocol: elbv2.Protocol.TCP,
      targetType: elbv2.TargetType.IP,
    });
    this.loadBalancer.addListener('Listener', {
      port,
      protocol: elbv2.Protocol.TCP,
      defaultTargetGroups: [this.targetGroup],
    });

    this.endpointService = new ec2.CfnVPCEndpointService(this, 'EndpointService', {
      acceptanceRequired: true,
      networkLoadBalancerArns: [this.loadBalancer.loadBalancerArn],
    });
    // An empty principal list is valid input (nobody may connect yet): then no permissions resource.
    const hasPrincipals = new CfnCondition(this, 'HasAllowedPrincipals', {
      expression: Fn.conditionNot(Fn.conditionEquals(Fn.join('', props.allowedPrincipals), '')),
    });
    const permissions = new ec2.CfnVPCEndpointServicePermissions(this, 'Permissions', {
      serviceId: this.endpointService.ref,
      allowedPrincipals: props.allowedPrincipals,
    });
    permissions.cfnOptions.condition = hasPrincipals;
    this.serviceName = Fn.join('', ['com.amazonaws.vpce.', Aws.REGION, '.', this.endpointService.ref]);
  }
}
