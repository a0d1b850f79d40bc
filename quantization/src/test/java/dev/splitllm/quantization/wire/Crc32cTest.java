package dev.splitllm.quantization.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

class Crc32cTest {

    @Test
    void checkValueOfRfc3720() {
        byte[] b = "123456789".getBytes(StandardCharsets.US_ASCII);
        assertEquals(0xE3069283, Crc32c.plain(b, 0, b.length));
        assertEquals(0xE3069283, Crc32c.of(b, 0, b.length));
    }

    @Test
    void plainJavaFallbackMatchesTheJdk() {
        assertTrue(Crc32c.usesJdk(), "a JDK 17 runtime has java.util.zip.CRC32C");
        Random r = new Random(7);
        for (int n : new int[] {0, 1, 3, 8, 31, 1000, 65_537}) {
            byte[] b = new byte[n + 5];
            r.nextBytes(b);
            CRC32C jdk = new CRC32C();
            jdk.update(b, 2, n);
            assertEquals((int) jdk.getValue(), Crc32c.plain(b, 2, n), "length " + n);
            assertEquals((int) jdk.getValue(), Crc32c.of(b, 2, n), "length " + n);
        }
    }

    @Test
    void rejectsRangesOutsideTheArray() {
        assertThrows(IndexOutOfBoundsException.class, () -> Crc32c.of(new byte[4], 2, 3));
        assertThrows(IndexOutOfBoundsException.class, () -> Crc32c.of(new byte[4], -1, 1));
    }
}
