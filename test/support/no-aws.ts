// Setup file of the `unit` vitest project (vitest.config.ts), which starts no local AWS: any AWS
// SDK call made there fails at once, saying why, instead of waiting on an endpoint that is not there.
import { STSClient } from '@aws-sdk/client-sts';

/** Every SDK v3 client extends one smithy `Client`, whose `send` every call goes through. */
const smithyClient = Object.getPrototypeOf(STSClient.prototype) as {
  send(command: { constructor: { name: string } }): Promise<unknown>;
};

export const NO_AWS_IN_UNIT_TESTS = 'unit tests make no AWS calls';

smithyClient.send = function send(command) {
  const client = (this as { constructor: { name: string } }).constructor.name;
  return Promise.reject(
    new Error(
      `${NO_AWS_IN_UNIT_TESTS}: ${client} ${command.constructor.name} was called from a test file of the ` +
        '`unit` vitest project, which starts no local AWS. If the test needs AWS, take its file off ' +
        'UNIT_TESTS in vitest.config.ts (it then runs in the `aws` project, against moto).',
    ),
  );
};
