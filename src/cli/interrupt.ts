/** Ctrl-C / SIGTERM for long commands: the first signal aborts (the command checkpoints), the second quits at once. */
import type { CommandContext } from "./commands.ts";

/**
 * Installs the handlers; `signal` aborts on the first SIGINT/SIGTERM (after printing `message` with `print`, by default
 * on a line of its own on stderr; a command with a status line passes its `log`), `dispose` removes them.
 */
export function onInterrupt(ctx: CommandContext, message: string, print: (line: string) => void = (l) => ctx.stderr(`\n${l}\n`)): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  let interrupts = 0;
  const handler = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    print(message);
    ac.abort();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    signal: ac.signal,
    dispose() {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  };
}
