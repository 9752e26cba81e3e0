/** `gra train`: one training run in a run directory (see src/train/run.ts), with progress, Ctrl-C and --resume. */
import { readFile } from "node:fs/promises";
import { familyNames } from "../models/registry.ts";
import { runTraining } from "../train/run.ts";
import { opt, UsageError } from "./args.ts";
import { defineCommand } from "./commands.ts";
import { onInterrupt } from "./interrupt.ts";
import { kernelsForRun } from "../kernels/factory.ts";
import { progressView } from "./progress.ts";

export const trainCommand = defineCommand({
  name: "train",
  summary: "train a model on a task (teacher-student, in-context linear regression) into a resumable run directory",
  description:
    "Writes DIR/config.json (every default written out), DIR/metrics.jsonl (step, loss, val_loss, lr, elapsed_s per\n" +
    "log point), DIR/model.safetensors, DIR/attention.safetensors (the teacher), and DIR/checkpoint.safetensors every\n" +
    "--eval-every steps. Ctrl-C writes a checkpoint and exits; --resume continues and reproduces the uninterrupted\n" +
    "metrics exactly. Without --layers the model is the family alone (eq. 2's gated RNN); --layers L builds the\n" +
    "Section 3.3 stack (embedding -> L layers -> readout). Paper scale: --steps 1000000 (teacher-student), 300000 (icl).",
  options: {
    task: opt.enum("task (default teacher-student)", ["teacher-student", "icl-regression"] as const),
    model: opt.string("model family (default gated-rnn): gated-rnn, gated-rnn-dense, lru, lru-in-out, lru-in-skip, lstm, gru, attention"),
    hidden: opt.int("hidden neurons N (default: the family's, 100 for gated-rnn)", { min: 1, max: 1 << 14 }),
    outputGating: opt.int("output-gating rows M (gated-rnn)", { min: 1, max: 1 << 14 }),
    layers: opt.int("Section 3.3 stack of L layers (default: the family alone)", { min: 1, max: 16 }),
    width: opt.int("stack embedding width (default: hidden)", { min: 1, max: 1 << 14 }),
    steps: opt.int("optimizer steps (default: the paper's, 1000000 teacher-student, 300000 icl-regression)", { min: 1 }),
    batch: opt.int("sequences per batch (default 64)", { min: 1 }),
    lr: opt.number("initial learning rate, cosine-annealed to 1e-6 (default 1e-3)", { min: 0 }),
    seed: opt.int("random seed (default 0)", { min: 0 }),
    threads: opt.int("worker threads (default 1)", { min: 1, max: 64 }),
    evalEvery: opt.int("steps between log points: metrics line, validation, checkpoint (default 100)", { min: 1 }),
    dtype: opt.enum("float type (default f32)", ["f32", "f64"] as const),
    backend: opt.enum("kernels: fast (wasm SIMD, f32) or reference (default fast)", ["fast", "reference"] as const),
    device: opt.enum("cpu (default), or webgpu: a GPU through WebGPU (gated RNN, f32)", ["cpu", "webgpu"] as const),
    config: opt.path("a JSON train config file (command-line options override its keys)", { exists: "file" }),
    out: opt.path("run directory", { required: true }),
    resume: opt.flag("continue the run in --out from its checkpoint"),
    json: opt.flag("print the final summary as one JSON object"),
  },
  async run(o, ctx) {
    let raw: Record<string, unknown> = {};
    if (o.config) {
      try {
        raw = JSON.parse(await readFile(o.config, "utf8"));
      } catch {
        throw new UsageError(`--config: ${o.config} is not valid JSON`);
      }
    }
    if (o.model !== undefined && !familyNames().includes(o.model)) throw new UsageError(`--model: unknown family "${o.model}" (known: ${familyNames().join(", ")})`);
    const set = (k: string, v: unknown) => { if (v !== undefined) raw[k] = v; };
    set("task", o.task);
    set("model", o.model);
    const mc = { ...((raw.model_config as Record<string, unknown>) ?? {}) };
    if (o.hidden !== undefined) mc.hidden = o.hidden;
    if (o.outputGating !== undefined) mc.output_gating = o.outputGating;
    if (Object.keys(mc).length) raw.model_config = mc;
    set("layers", o.layers);
    set("width", o.width);
    set("steps", o.steps);
    set("batch", o.batch);
    set("lr", o.lr);
    set("seed", o.seed);
    set("threads", o.threads);
    set("eval_every", o.evalEvery);
    set("dtype", o.dtype);
    set("backend", o.backend);
    set("device", o.device);

    const interrupt = onInterrupt(ctx, "gra train: interrupted, writing a checkpoint (Ctrl-C again to quit at once)");
    let view: ReturnType<typeof progressView> | undefined;
    let lastStep = 0;
    let lastT = performance.now();
    let rate = "";
    try {
      const s = await runTraining(raw, {
        out: o.out,
        resume: o.resume,
        kernels: kernelsForRun,
        signal: interrupt.signal,
        onDevice(device, note) {
          if (device.startsWith("webgpu")) ctx.stderr(`gra train: ${device}\n`);
          if (note) ctx.stderr(`gra train: ${note}\n`);
        },
        onProgress(p) {
          view ??= progressView(p.steps, "train");
          const now = performance.now();
          if (now - lastT > 1000) {
            rate = `${((p.step - lastStep) / ((now - lastT) / 1000)).toFixed(0)} steps/s`;
            lastStep = p.step;
            lastT = now;
          }
          view.update(p.step, { rate, loss: p.loss.toExponential(2), val: Number.isNaN(p.val_loss) ? "-" : p.val_loss.toExponential(2) });
        },
      });
      view?.stop();
      if (o.json) ctx.stdout(JSON.stringify(s) + "\n");
      else if (s.interrupted) ctx.stdout(`interrupted at step ${s.step}/${s.steps}; continue with: gra train --out ${s.out} --resume\n`);
      else {
        ctx.stdout(
          `trained ${s.steps} steps in ${s.elapsed_s.toFixed(1)} s: loss ${s.loss.toExponential(3)}, val loss ${s.val_loss.toExponential(3)} ` +
            `(zero predictor ${s.zero_val_loss.toExponential(3)}, ${(s.zero_val_loss / s.val_loss).toExponential(2)}x lower)\nrun directory: ${s.out}\n`,
        );
      }
      return s.interrupted ? 130 : 0;
    } finally {
      view?.stop();
      interrupt.dispose();
    }
  },
});
