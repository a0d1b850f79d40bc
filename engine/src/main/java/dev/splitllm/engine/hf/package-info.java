/**
 * Hugging Face checkpoints: {@code config.json} ({@link dev.splitllm.engine.hf.HfConfig}),
 * safetensors single-file or sharded ({@link dev.splitllm.engine.hf.SafetensorsFile},
 * {@link dev.splitllm.engine.hf.HfSource}) and the tokenizer
 * ({@link dev.splitllm.engine.hf.HfTokenizers}).
 *
 * <p><b>Where DJL lives.</b> {@code tokenizer.json} is read through DJL's Hugging Face tokenizers
 * (native Rust library). DJL is an <i>optional</i> Maven dependency of the engine and is touched
 * only by {@code dev.splitllm.engine.hf.djl.DjlTokenizer}, which {@code HfTokenizers} loads by
 * name when a directory has a {@code tokenizer.json} and no {@code tokenizer.bin}. Optional
 * dependencies are not inherited, so Android builds of {@code edge-agent} never package DJL;
 * modules that must read {@code tokenizer.json} (the CLI, the cloud server) declare
 * {@code ai.djl.huggingface:tokenizers} themselves and must run with {@code ai.djl.offline=true}
 * and {@code OPT_OUT_TRACKING=true} (the adapter sets both system properties if unset). Without
 * DJL, opening such a directory fails with a message saying so; GGUF files and directories
 * written by {@code convert --format safetensors} from SentencePiece-style models (which carry a
 * {@code tokenizer.bin}) need no DJL.
 */
package dev.splitllm.engine.hf;
