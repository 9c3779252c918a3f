/** Reading a Lambda entry's configuration from the environment the construct sets (names and ARNs, never secrets). */

/** The trimmed value of `name`; throws naming the function and the variable when it is unset or blank. */
export function requiredEnv(owner: string, name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name]?.trim();
  if (!value) throw new Error(`${owner}: environment variable ${name} is not set`);
  return value;
}
