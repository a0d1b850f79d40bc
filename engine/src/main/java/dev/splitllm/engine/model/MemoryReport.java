package dev.splitllm.engine.model;

import java.util.Locale;

/**
 * Bytes one process needs for a model slice under a {@link PrecisionPlan}, by component, as
 * computed by {@link MemoryAccount}. All figures are array payloads (what the engine allocates),
 * without JVM object headers.
 *
 * @param slice            the slice accounted for
 * @param seqLen           KV-cache capacity in positions
 * @param batch            tokens per forward call (T) that the work buffers are sized for
 * @param embeddingBytes   token embedding table (0 if the slice has none)
 * @param blockBytes       the slice's transformer blocks: matrices plus their two F32 norm vectors
 * @param finalNormBytes   final RMSNorm weights (0 without the head)
 * @param classifierBytes  classifier table, 0 when it is the embedding table itself (tied, same format)
 * @param kvCacheBytes     F32 keys and values of the slice's blocks for {@code seqLen} positions
 * @param scratchBytes     the forward's work buffers for T tokens (0 when the slice has no block)
 * @param hiddenBytes      the T x dim hidden-state array passed between embed, blocks and head
 * @param logitsBytes      one row of logits (0 without the head)
 */
public record MemoryReport(ModelSlice slice, int seqLen, int batch, long embeddingBytes, long blockBytes,
                           long finalNormBytes, long classifierBytes, long kvCacheBytes, long scratchBytes,
                           long hiddenBytes, long logitsBytes) {

    /** Weights: embedding, blocks, final norm and classifier. */
    public long weightBytes() {
        return embeddingBytes + blockBytes + finalNormBytes + classifierBytes;
    }

    /** Working buffers: scratch, hidden state and logits. */
    public long workingBytes() {
        return scratchBytes + hiddenBytes + logitsBytes;
    }

    /** Everything: weights + KV cache + working buffers. */
    public long totalBytes() {
        return weightBytes() + kvCacheBytes + workingBytes();
    }

    /** A readable multi-line table (MiB with three decimals, and exact bytes). */
    public String table() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "slice blocks [%d, %d)%s%s, seq_len %d, batch %d%n", slice.firstLayer(),
                slice.endLayer(), slice.withEmbedding() ? " + embedding" : "", slice.withHead() ? " + head" : "", seqLen, batch));
        row(sb, "embedding", embeddingBytes);
        row(sb, "blocks", blockBytes);
        row(sb, "final norm", finalNormBytes);
        row(sb, "classifier", classifierBytes);
        row(sb, "KV cache", kvCacheBytes);
        row(sb, "scratch", scratchBytes);
        row(sb, "hidden state", hiddenBytes);
        row(sb, "logits", logitsBytes);
        row(sb, "total", totalBytes());
        return sb.toString();
    }

    private static void row(StringBuilder sb, String name, long bytes) {
        sb.append(String.format(Locale.ROOT, "  %-13s %12.3f MiB %,15d B%n", name, bytes / 1048576.0, bytes));
    }
}
