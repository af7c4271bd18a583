/**
 * Test-only SDK middleware: see or rewrite what an AWS call answers, by command name. Hooked into
 * every client through `AwsTarget.instrument`; never part of production configuration.
 */
export type Rewrite = (
  commandName: string,
  input: Record<string, unknown>,
  output: Record<string, unknown>,
) => Record<string, unknown> | undefined;

interface Stack {
  add(
    mw: (
      next: (args: unknown) => Promise<{ output: unknown }>,
      context: { commandName?: string },
    ) => (args: unknown) => Promise<{ output: unknown }>,
    opts: { step: string; name: string },
  ): void;
}

export function rewriteResponses(rewrite: Rewrite): (client: { middlewareStack: unknown }) => void {
  return (client) => {
    (client.middlewareStack as Stack).add(
      (next, context) => async (args) => {
        const result = await next(args);
        const input = ((args as { input?: Record<string, unknown> }).input ?? {}) as Record<string, unknown>;
        const replaced = rewrite(context.commandName ?? '', input, result.output as Record<string, unknown>);
        return replaced ? { ...result, output: replaced } : result;
      },
      { step: 'initialize', name: 'testRewriteResponses' },
    );
  };
}
