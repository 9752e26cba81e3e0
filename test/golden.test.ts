/**
 * Golden hashes: small training runs whose files must keep exactly these bits (the numbers recorded on main before
 * issue 12's restructuring). A change here means the training numbers changed: only on purpose, and said so.
 * Changed on purpose once: "lru-in-skip fast" and "lstm fast" were re-recorded when the fast sigmoid and tanh became
 * vectorised wasm approximations (within FAST_SIGMOID_TANH_ULPS of float64, src/kernels/types.ts) instead of scalar
 * Math.exp / Math.tanh; the gated-RNN hashes did not move.
 * Hashed: model.safetensors (bytes), metrics.jsonl without elapsed_s, and the checkpoint's tensors (names, dtypes,
 * shapes, data: the trained form and AdamW moments) with its state metadata minus elapsed_s.
 * The fast runs use the build the trainer picks (kernels-relaxed-shared.wasm where relaxed SIMD is accepted): the
 * hashes were recorded with Node 20 on x86-64. `GOLDEN_PRINT=1 node --import tsx --test test/golden.test.ts` prints the current hashes.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { kernelsForRun } from "../src/kernels/factory.ts";
import { loadTensors } from "../src/io/files.ts";
import { runTraining } from "../src/train/run.ts";

const root = await mkdtemp(join(tmpdir(), "gra-golden-"));
after(() => rm(root, { recursive: true, force: true }));

const small = { steps: 300, batch: 16, eval_every: 100, val_size: 32, seed: 7 };
const ts = { task: "teacher-student", task_config: { d: 4, T: 16 } };

/** The golden configs: name -> raw train config. */
const configs: Record<string, Record<string, unknown>> = {
  "gated-rnn fast t1": { ...ts, model: "gated-rnn", model_config: { hidden: 16, output_gating: 16 }, ...small },
  "gated-rnn fast t2": { ...ts, model: "gated-rnn", model_config: { hidden: 16, output_gating: 16 }, ...small, threads: 2 },
  "gated-rnn ref64": { ...ts, model: "gated-rnn", model_config: { hidden: 16, output_gating: 16 }, ...small, steps: 100, backend: "reference", dtype: "f64" },
  "icl gated-rnn fast t1": { task: "icl-regression", model: "gated-rnn", model_config: { hidden: 16, output_gating: 16 }, ...small },
  "icl gated-rnn fast t2": { task: "icl-regression", model: "gated-rnn", model_config: { hidden: 16, output_gating: 16 }, ...small, threads: 2 },
  "gated-rnn-dense fast": { ...ts, model: "gated-rnn-dense", model_config: { hidden: 8, output_gating: 8 }, ...small, steps: 100 },
  "gated-rnn stack fast": { ...ts, model: "gated-rnn", layers: 1, width: 8, model_config: { hidden: 8, output_gating: 8 }, ...small, steps: 100 },
  "lru-in-skip fast": { ...ts, model: "lru-in-skip", model_config: { hidden: 8 }, ...small, steps: 100 },
  "lstm fast": { ...ts, model: "lstm", model_config: { hidden: 8 }, ...small, steps: 100 },
};

/** The recorded hashes (sha256, first 16 hex digits) of each config's model, metrics and checkpoint. */
const golden: Record<string, { model: string; metrics: string; checkpoint: string }> = {
  "gated-rnn fast t1": { model: "803cb3c35ba2f125", metrics: "ef02e77e9b1e74e2", checkpoint: "4750181c46c23e9f" },
  "gated-rnn fast t2": { model: "803cb3c35ba2f125", metrics: "ef02e77e9b1e74e2", checkpoint: "4750181c46c23e9f" },
  "gated-rnn ref64": { model: "ae211a92080a09e6", metrics: "badaded6278e040a", checkpoint: "56e87b1b9b5e6953" },
  "icl gated-rnn fast t1": { model: "f72c0aa716c3cf7f", metrics: "a17883692dbab95d", checkpoint: "b214fc1346f4bb9b" },
  "icl gated-rnn fast t2": { model: "f72c0aa716c3cf7f", metrics: "a17883692dbab95d", checkpoint: "b214fc1346f4bb9b" },
  "gated-rnn-dense fast": { model: "1d1689dabc2b589e", metrics: "9c235f8a5ec90aff", checkpoint: "b6bd39ee0a114e3c" },
  "gated-rnn stack fast": { model: "a5a95caec17e19da", metrics: "78d71dbd864a27d1", checkpoint: "e4d76fa57f2cd993" },
  "lru-in-skip fast": { model: "b619f836d80a910a", metrics: "77b9188126bbe963", checkpoint: "72c84ad723d5ed62" },
  "lstm fast": { model: "55afd4268654b94e", metrics: "c4dc4d9a2b68d20a", checkpoint: "48fad98125a6bc6e" },
};

const sha = (data: Uint8Array | string): string => createHash("sha256").update(data).digest("hex").slice(0, 16);

/** The three hashes of a finished run directory. */
async function hashes(dir: string): Promise<{ model: string; metrics: string; checkpoint: string }> {
  const metrics = (await readFile(join(dir, "metrics.jsonl"), "utf8")).trim().split("\n").map((l) => {
    const { elapsed_s: _, ...rest } = JSON.parse(l);
    return JSON.stringify(rest);
  });
  const ck = await loadTensors(join(dir, "checkpoint.safetensors"));
  const h = createHash("sha256");
  for (const name of Object.keys(ck.tensors).sort()) {
    const t = ck.tensors[name];
    h.update(`${name}:${t.data.constructor.name}:${t.shape.join(",")}\n`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  h.update(JSON.stringify({ ...JSON.parse(ck.metadata.state), elapsed_s: 0 }));
  return { model: sha(await readFile(join(dir, "model.safetensors"))), metrics: sha(metrics.join("\n")), checkpoint: h.digest("hex").slice(0, 16) };
}

test("golden: small runs of every trained form give the recorded bits (model, metrics, checkpoint)", async () => {
  const got: typeof golden = {};
  let i = 0;
  for (const [name, raw] of Object.entries(configs)) {
    const out = join(root, `run${i++}`);
    await runTraining(raw, { out, kernels: kernelsForRun });
    got[name] = await hashes(out);
  }
  if (process.env.GOLDEN_PRINT) console.log(JSON.stringify(got, null, 2));
  assert.deepEqual(got, golden);
});
