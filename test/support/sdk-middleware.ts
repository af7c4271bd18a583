/**
 * Test-only SDK middleware: see or rewrite what an AWS call answers, by command name. Hooked into
 * every client through `AwsTarget.instrument`; never part of production configuration.
 */
export type Rewrite = (
  commandName: string,
  input: Record<string, unknown>,
  output: Record<string, unknown>,
) => Record<string, unknown> | undefined;

/** What a middleware added with `aroundCalls` sees of each AWS call. */
export interface SdkCall {
  /** e.g. `DynamoDB`, `CloudFormation` (the client's name without `Client`). */
  readonly service: string;
  /** e.g. `PutItem` (the command's name without `Command`). */
  readonly operation: string;
  /** The command's name as the SDK gives it, e.g. `PutItemCommand`. */
  readonly commandName: string;
  readonly input: Record<string, unknown>;
}

export type SdkAnswer = { output: unknown };

interface Stack {
  add(
    mw: (
      next: (args: unknown) => Promise<SdkAnswer>,
      context: { clientName?: string; commandName?: string },
    ) => (args: unknown) => Promise<SdkAnswer>,
    opts: { step: string; name: string; priority?: string },
  ): void;
}

/**
 * An `AwsTarget.instrument` hook that wraps every call of a client in `around`, which must call
 * `send` once to reach AWS (or throw instead). The one place tests and benchmarks reach into the
 * SDK's middleware stack.
 */
export function aroundCalls(
  name: string,
  around: (call: SdkCall, send: () => Promise<SdkAnswer>) => Promise<SdkAnswer>,
  placement: { step: string; priority?: string } = { step: 'initialize' },
): (client: { middlewareStack: unknown }) => void {
  return (client) => {
    (client.middlewareStack as Stack).add(
      (next, context) => (args) => {
        const commandName = context.commandName ?? '';
        const call: SdkCall = {
          service: (context.clientName ?? '').replace(/Client$/, ''),
          operation: commandName.replace(/Command$/, ''),
          commandName,
          input: ((args as { input?: Record<string, unknown> }).input ?? {}) as Record<string, unknown>,
        };
        return around(call, () => next(args));
      },
      { ...placement, name },
    );
  };
}

export function rewriteResponses(rewrite: Rewrite): (client: { middlewareStack: unknown }) => void {
  return aroundCalls('testRewriteResponses', async (call, send) => {
    const result = await send();
    const replaced = rewrite(call.commandName, call.input, result.output as Record<string, unknown>);
    return replaced ? { ...result, output: replaced } : result;
  });
}
