package dev.splitllm.quantization.wire;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

class Crc32cTest {

    @Test
    void knownCheckValue() {
        byte[] digits = "123456789".getBytes(StandardCharsets.US_ASCII);
        assertEquals(0xe3069283, Crc32c.compute(digits, 0, 9));
        assertEquals(0xe3069283, Crc32c.computePortable(digits, 0, 9));
        assertEquals(0, Crc32c.computePortable(new byte[0], 0, 0));
    }

    @Test
    void portableVersionMatchesTheJdk() {
        Random random = new Random(3);
        for (int n = 0; n < 300; n += 7) {
            byte[] b = new byte[n + 5];
            random.nextBytes(b);
            CRC32C jdk = new CRC32C();
            jdk.update(b, 2, n);
            assertEquals((int) jdk.getValue(), Crc32c.computePortable(b, 2, n), "length " + n);
            assertEquals((int) jdk.getValue(), Crc32c.compute(b, 2, n));
        }
    }
}
