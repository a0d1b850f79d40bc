package dev.splitllm.edge;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback TCP forwarder between an edge and a server that can cut the link the way a
 * mobile network does: {@link #armDropOnNextDownstream()} makes it kill the connection the
 * moment the server's next bytes arrive, so they are lost after the server has acted;
 * {@link #holdNextDownstream()} swallows them and everything after on that connection while
 * keeping it open, so the edge waits for an answer that never comes.
 */
final class TcpProxy implements AutoCloseable {
    private final ServerSocket listener;
    private volatile int targetPort;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private final AtomicBoolean dropArmed = new AtomicBoolean();
    private final AtomicBoolean holdArmed = new AtomicBoolean();
    /** Downstream bytes swallowed by a held connection. */
    final AtomicInteger held = new AtomicInteger();
    final AtomicInteger drops = new AtomicInteger();
    final AtomicInteger connections = new AtomicInteger();

    TcpProxy(int targetPort) throws IOException {
        this.targetPort = targetPort;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::acceptLoop, "tcp-proxy-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return listener.getLocalPort();
    }

    /** Sends new connections to {@code port} from now on (a proxy that lost or drained a replica). */
    void retarget(int port) {
        targetPort = port;
    }

    /** Cuts every open connection without a close handshake, as a dead replica would. */
    void cutAll() {
        for (Socket s : open) closeQuietly(s);
        open.clear();
    }

    void armDropOnNextDownstream() {
        dropArmed.set(true);
    }

    void holdNextDownstream() {
        holdArmed.set(true);
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                connections.incrementAndGet();
                open.add(client);
                open.add(server);
                pump(client, server, false);
                pump(server, client, true);
            } catch (IOException e) {
                return;
            }
        }
    }

    private void pump(Socket from, Socket to, boolean downstream) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[64 * 1024];
            boolean holding = false;
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    if (downstream && (holding || holdArmed.compareAndSet(true, false))) {
                        holding = true;
                        held.addAndGet(n);
                        continue;
                    }
                    if (downstream && dropArmed.compareAndSet(true, false)) {
                        drops.incrementAndGet();
                        closeQuietly(from);
                        closeQuietly(to);
                        return;
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // connection ended
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, downstream ? "tcp-proxy-down" : "tcp-proxy-up");
        t.setDaemon(true);
        t.start();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket s : open) closeQuietly(s);
    }
}
