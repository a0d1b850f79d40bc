package dev.splitllm.quantization.codec;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.Test;

class BitPackerTest {

    @Test
    void layoutIsLsbFirst() {
        byte[] dst = new byte[3];
        // 3-bit codes 1..7,0: stream bits 001 010 011 100 101 110 111 000 read LSB-first.
        int n = BitPacker.pack(new byte[] {1, 2, 3, 4, 5, 6, 7, 0}, 8, 3, dst, 0);
        assertEquals(3, n);
        assertArrayEquals(new byte[] {(byte) 0xd1, (byte) 0x58, (byte) 0x1f}, dst);
        byte[] two = new byte[1];
        BitPacker.pack(new byte[] {3, 0, 1, 2}, 4, 2, two, 0);
        assertEquals((byte) 0b10_01_00_11, two[0]);
        byte[] four = new byte[2];
        BitPacker.pack(new byte[] {0xa, 0x5, 0xf}, 3, 4, four, 0);
        assertArrayEquals(new byte[] {(byte) 0x5a, 0x0f}, four, "last byte's unused high nibble is zero");
    }

    @Test
    void everyWidthAndLengthRoundTrips() {
        Random random = new Random(7);
        float[] lut = new float[256];
        for (int i = 0; i < 256; i++) {
            lut[i] = i;
        }
        for (int bits = 1; bits <= 8; bits++) {
            for (int n = 0; n <= 70; n++) {
                byte[] codes = new byte[n];
                for (int i = 0; i < n; i++) {
                    codes[i] = (byte) random.nextInt(1 << bits);
                }
                byte[] packed = new byte[(int) BitPacker.packedBytes(n, bits) + 5];
                int written = BitPacker.pack(codes, n, bits, packed, 2);
                assertEquals(BitPacker.packedBytes(n, bits), written, "bits " + bits + " n " + n);
                float[] out = new float[n + 1];
                assertTrue(BitPacker.unpackLookup(packed, 2, n, bits, lut, out, 1));
                for (int i = 0; i < n; i++) {
                    assertEquals(codes[i] & 0xff, (int) out[i + 1], "bits " + bits + " n " + n + " i " + i);
                }
            }
        }
    }

    @Test
    void nonZeroPaddingIsDetected() {
        float[] lut = new float[256];
        float[] out = new float[3];
        byte[] packed = new byte[2];
        BitPacker.pack(new byte[] {1, 2, 3}, 3, 3, packed, 0); // 9 bits used of 16
        assertTrue(BitPacker.unpackLookup(packed, 0, 3, 3, lut, out, 0));
        packed[1] |= (byte) 0x80;
        assertFalse(BitPacker.unpackLookup(packed, 0, 3, 3, lut, out, 0));
    }
}
