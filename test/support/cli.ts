/** tenantctl's progress lines off a terminal, without their `[  1.2s] ` elapsed-time prefix. */
export const progressLines = (stdout: string): string[] =>
  stdout
    .trim()
    .split('\n')
    .map((l) => l.replace(/^\[\s*[\d.]+s\] /, ''));
