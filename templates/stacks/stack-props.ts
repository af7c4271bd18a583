import { DefaultStackSynthesizer, type StackProps } from 'aws-cdk-lib';

/**
 * Stack settings every template shares: no bootstrap-version parameter or rule and no CDK
 * analytics resource, so the output is plain, deterministic CloudFormation that deploys without
 * `cdk bootstrap` and hashes the same on every synthesis.
 */
export function templateStackProps(description: string): StackProps {
  return {
    description,
    analyticsReporting: false,
    synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
  };
}
