/** Ctrl-C / SIGTERM for long commands: the first signal aborts (the command checkpoints), the second quits at once. */
import type { CommandContext } from "./commands.ts";

/** Installs the handlers; `signal` aborts on the first SIGINT/SIGTERM (after printing `message`), `dispose` removes them. */
export function onInterrupt(ctx: CommandContext, message: string): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  let interrupts = 0;
  const handler = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    ctx.stderr(`\n${message}\n`);
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
