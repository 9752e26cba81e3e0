/** Node-only parts of gated-rnn-attention: files (atomic writes, safetensors on disk), the wasm loader. */
export * from "./io/files.ts";
export * from "./kernels/node.ts";
