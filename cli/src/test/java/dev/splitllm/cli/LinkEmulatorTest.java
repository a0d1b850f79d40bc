package dev.splitllm.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Lower bounds only: an emulated link can be slower than asked on a busy machine, never faster. */
@Timeout(30)
class LinkEmulatorTest {
    private ServerSocket echo;

    @BeforeEach
    void startEcho() throws IOException {
        echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            while (!echo.isClosed()) {
                try {
                    Socket s = echo.accept();
                    Thread c = new Thread(() -> pipe(s), "echo-conn");
                    c.setDaemon(true);
                    c.start();
                } catch (IOException e) {
                    return;
                }
            }
        }, "echo-accept");
        t.setDaemon(true);
        t.start();
    }

    private static void pipe(Socket s) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            in.transferTo(out);
        } catch (IOException ignored) {
            // peer gone
        }
    }

    @AfterEach
    void stopEcho() throws IOException {
        echo.close();
    }

    @Test
    void roundTripPaysTheRtt() throws Exception {
        try (LinkEmulator link = new LinkEmulator(echo.getLocalPort(), 100e6, 40);
             Socket s = new Socket(InetAddress.getLoopbackAddress(), link.port())) {
            s.setTcpNoDelay(true);
            DataInputStream in = new DataInputStream(s.getInputStream());
            // first exchange also pays the emulated handshake; time the second
            s.getOutputStream().write(1);
            assertEquals(1, in.read());
            long t0 = System.nanoTime();
            s.getOutputStream().write(2);
            assertEquals(2, in.read());
            double ms = (System.nanoTime() - t0) / 1e6;
            assertTrue(ms >= 38, "round trip took " + ms + " ms over a 40 ms RTT link");
        }
    }

    @Test
    void rateLimitsABulkTransferAndKeepsBytesInOrder() throws Exception {
        byte[] data = new byte[256 * 1024];
        new Random(7).nextBytes(data);
        byte[] back = new byte[data.length];
        try (LinkEmulator link = new LinkEmulator(echo.getLocalPort(), 8e6, 0);
             Socket s = new Socket(InetAddress.getLoopbackAddress(), link.port())) {
            long t0 = System.nanoTime();
            Thread writer = new Thread(() -> {
                try {
                    s.getOutputStream().write(data);
                    s.shutdownOutput();
                } catch (IOException ignored) {
                    // the read below fails too
                }
            });
            writer.start();
            new DataInputStream(s.getInputStream()).readFully(back);
            double seconds = (System.nanoTime() - t0) / 1e9;
            writer.join();
            assertArrayEquals(data, back, "bytes must arrive intact and in order");
            // 2 Mbit each way at 8 Mbit/s = 0.26 s; up and down overlap, so one direction bounds it
            assertTrue(seconds >= 0.25, "256 KiB at 8 Mbit/s took only " + seconds + " s");
            assertEquals(-1, s.getInputStream().read(), "the half-close must travel through");
        }
    }

    @Test
    void rejectsBadParameters() {
        assertThrows(IllegalArgumentException.class, () -> new LinkEmulator(0, 1e6, 10));
        assertThrows(IllegalArgumentException.class, () -> new LinkEmulator(80, 0, 10));
        assertThrows(IllegalArgumentException.class, () -> new LinkEmulator(80, 1e6, -1));
    }
}
