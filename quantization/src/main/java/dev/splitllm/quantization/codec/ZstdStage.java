package dev.splitllm.quantization.codec;

import com.github.luben.zstd.Zstd;

/**
 * The optional entropy stage: zstd over the whole packed payload. The only class that touches the
 * native library, so platforms without it lose just this stage.
 */
final class ZstdStage {
    /** zstd level: 1-3 give nearly all the gain on quantized activations; 3 is zstd's default. */
    static final int LEVEL = 3;

    private ZstdStage() {}

    /** Compresses {@code src[0, length)}. */
    static byte[] compress(byte[] src, int length) {
        try {
            long bound = Zstd.compressBound(length);
            if (bound > ByteWriter.MAX_CAPACITY) {
                throw new IllegalArgumentException("payload of " + length + " bytes too large for zstd");
            }
            byte[] dst = new byte[(int) bound];
            long n = Zstd.compressByteArray(dst, 0, dst.length, src, 0, length, LEVEL);
            if (Zstd.isError(n)) {
                throw new IllegalStateException("zstd compression failed: " + Zstd.getErrorName(n));
            }
            return java.util.Arrays.copyOf(dst, (int) n);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            throw new IllegalStateException("the zstd stage is not available on this platform: " + e, e);
        }
    }

    /**
     * Decompresses {@code src[offset, offset + length)} into exactly {@code rawLength} bytes. The
     * caller has bounded rawLength; zstd never writes past it, so a bomb cannot grow the output.
     */
    static byte[] decompress(byte[] src, int offset, int length, int rawLength) throws CorruptPayloadException {
        long declared;
        try {
            declared = Zstd.getFrameContentSize(src, offset, length);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            throw new IllegalStateException("the zstd stage is not available on this platform: " + e, e);
        } catch (RuntimeException e) {
            throw new CorruptPayloadException("zstd frame header is malformed: " + e.getMessage());
        }
        // Check the zstd frame's own size field before allocating anything.
        if (declared != rawLength) {
            throw new CorruptPayloadException("zstd frame declares " + declared + " bytes, payload header says " + rawLength);
        }
        byte[] dst = new byte[rawLength];
        long n;
        try {
            n = Zstd.decompressByteArray(dst, 0, rawLength, src, offset, length);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            throw new IllegalStateException("the zstd stage is not available on this platform: " + e, e);
        } catch (RuntimeException e) { // zstd-jni reports some malformed input as ZstdException
            throw new CorruptPayloadException("zstd payload is malformed: " + e.getMessage());
        }
        if (Zstd.isError(n)) {
            throw new CorruptPayloadException("zstd payload is malformed: " + Zstd.getErrorName(n));
        }
        if (n != rawLength) {
            throw new CorruptPayloadException("zstd payload decompressed to " + n + " bytes, header says " + rawLength);
        }
        return dst;
    }
}
