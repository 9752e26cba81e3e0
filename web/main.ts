/** The page's entry: mounts the three sections (construction explorer, training, runs) and reports load errors. */
import { mountExplorer } from "./explorer.ts";
import { mountRuns } from "./runs.ts";
import { mountTraining } from "./train.ts";

/** Mounts one section, showing its error in place instead of breaking the others. */
function mount(id: string, f: (el: HTMLElement) => unknown): void {
  const el = document.getElementById(id);
  if (!el) return;
  try {
    const r = f(el);
    if (r instanceof Promise) r.catch((e: unknown) => el.append(`error: ${e instanceof Error ? e.message : String(e)}`));
  } catch (e) {
    el.textContent = `error: ${e instanceof Error ? e.message : String(e)}`;
  }
}

mount("explorer", mountExplorer);
mount("train", mountTraining);
mount("runs", (el) => mountRuns(el, document.querySelector<HTMLElement>("a[href='#runs']") ?? undefined));
document.body.dataset.ready = "true";
