/** Error classes shared by the library and the CLI. */

/**
 * Invalid input from the user: a config (file or object) with an unknown key or a bad value, a weights file that is
 * not valid safetensors, a directory that is not a run, a run directory that does not match the request. Its message
 * is one line naming what to fix; `gra` prints it as `gra <command>: <message>` and exits 2, like a bad option.
 */
export class InputError extends Error {
  override name = "InputError";
}
