package dev.splitllm.edge;

import static org.junit.jupiter.api.Assertions.*;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import org.junit.jupiter.api.Test;

/** The edge's sockets have Nagle's algorithm off (without it a split step on loopback took ~48 ms instead of ~5). */
class NoDelaySocketFactoryTest {

    @Test
    void everySocketItMakesHasTcpNoDelay() throws Exception {
        NoDelaySocketFactory f = new NoDelaySocketFactory();
        try (ServerSocket server = new ServerSocket(0, 4, InetAddress.getLoopbackAddress());
             Socket unconnected = f.createSocket();
             Socket byName = f.createSocket("127.0.0.1", server.getLocalPort());
             Socket byAddress = f.createSocket(InetAddress.getLoopbackAddress(), server.getLocalPort())) {
            assertTrue(unconnected.getTcpNoDelay(), "OkHttp creates the socket unconnected, then connects it");
            assertTrue(byName.getTcpNoDelay());
            assertTrue(byAddress.getTcpNoDelay());
        }
    }
}
