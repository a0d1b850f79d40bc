package dev.splitllm.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A userspace link emulator: a loopback TCP forwarder (listens on 127.0.0.1, random port,
 * forwards every accepted connection to a target port on 127.0.0.1) that shapes each direction
 * of each connection like a point-to-point link of a given rate and round-trip time.
 *
 * <p>Per direction, bytes are read in chunks of one MTU ({@link #PACKET_BYTES}), or of up to 1 ms
 * of the link's time on a fast link (at most {@link #MAX_CHUNK_BYTES}). A chunk of n
 * bytes occupies the link for n*8/rate seconds, FIFO behind the packets before it
 * (serialization), then arrives one-way-delay = RTT/2 later (propagation). A reader thread
 * stamps each packet with its arrival time and puts it into a bounded queue; a sender thread
 * sleeps until each packet's arrival time and writes it out. When the queue is full the reader
 * stops reading, so TCP flow control pushes back on the sender, as a full router buffer would
 * (without the drops). Connection set-up is modelled as one RTT before the first client byte
 * may leave (the TCP handshake the forwarder itself completes instantly on loopback).
 *
 * <p>Not modelled: loss, jitter, reordering, kernel queueing disciplines; TCP's own congestion
 * control runs on loopback and never sees the emulated rate or delay as loss.
 */
public final class LinkEmulator implements AutoCloseable {
    /** Smallest chunk forwarded at once, an Ethernet MTU's worth (what slow links are shaped at). */
    public static final int PACKET_BYTES = 1500;
    /**
     * Largest chunk forwarded at once. Each chunk costs the forwarder a copy and two thread
     * hand-offs (~20 us here), so MTU-sized chunks alone cap it near 600 Mbit/s; a fast link is
     * shaped in chunks of up to 1 ms of its time instead (see {@link #chunkBytes}).
     */
    static final int MAX_CHUNK_BYTES = 64 * 1024;
    /** Chunks one direction of one connection may hold in flight. */
    static final int QUEUE_PACKETS = 1024;
    /** Bytes one direction of one connection may hold in flight (bounds memory to 1.5 MB, as 1024 MTUs did). */
    static final int QUEUE_BYTES = QUEUE_PACKETS * PACKET_BYTES;
    /** Most connections open at once; more are refused (closed at once). */
    static final int MAX_CONNECTIONS = 64;

    private final ServerSocket listener;
    private final int targetPort;
    /** The link's rate and one-way delay; {@link #setLink} changes them mid-run (packets already queued keep their times). */
    private volatile double bitsPerSecond;
    private volatile long oneWayNanos;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
    private final AtomicInteger connections = new AtomicInteger();
    private volatile boolean closed;

    /**
     * Starts forwarding 127.0.0.1:{@link #port()} to 127.0.0.1:{@code targetPort}.
     *
     * @param targetPort    loopback port to forward to
     * @param bitsPerSecond link rate per direction, bits/s (1e3 .. 1e11)
     * @param rttMs         round-trip time in ms (0 .. 10000); each direction adds half
     */
    public LinkEmulator(int targetPort, double bitsPerSecond, double rttMs) throws IOException {
        if (targetPort < 1 || targetPort > 65535) throw new IllegalArgumentException("target port out of range: " + targetPort);
        if (!(bitsPerSecond >= 1e3 && bitsPerSecond <= 1e11)) {
            throw new IllegalArgumentException("rate must be in [1e3, 1e11] bit/s, got " + bitsPerSecond);
        }
        this.targetPort = targetPort;
        setLink(bitsPerSecond, rttMs);
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        start(this::acceptLoop, "link-emulator-accept");
    }

    /**
     * Changes the link's rate and round-trip time for every packet read from now on (a train leaving
     * a tunnel, a handover from Wi-Fi to a weak cell): open connections see the change at once.
     */
    public void setLink(double bitsPerSecond, double rttMs) {
        if (!(bitsPerSecond >= 1e3 && bitsPerSecond <= 1e11)) {
            throw new IllegalArgumentException("rate must be in [1e3, 1e11] bit/s, got " + bitsPerSecond);
        }
        if (!(rttMs >= 0 && rttMs <= 10_000)) throw new IllegalArgumentException("RTT must be in [0, 10000] ms, got " + rttMs);
        this.bitsPerSecond = bitsPerSecond;
        this.oneWayNanos = Math.round(rttMs * 1e6 / 2);
    }

    /** Bytes read at once: what the link carries in 1 ms, at least one MTU, at most {@link #MAX_CHUNK_BYTES}. */
    private int chunkBytes() {
        return (int) Math.max(PACKET_BYTES, Math.min(MAX_CHUNK_BYTES, bitsPerSecond / 8 / 1000));
    }

    /** The loopback port clients connect to. */
    public int port() {
        return listener.getLocalPort();
    }

    /** Base URL of the emulated link, for HTTP clients. */
    public String baseUrl() {
        return "http://127.0.0.1:" + port();
    }

    /** Connections accepted so far. */
    public int connections() {
        return connections.get();
    }

    private void start(Runnable r, String name) {
        Thread t = new Thread(() -> {
            try {
                r.run();
            } finally {
                threads.remove(Thread.currentThread());
            }
        }, name);
        t.setDaemon(true);
        threads.add(t);
        t.start();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                return; // listener closed
            }
            long acceptedAt = System.nanoTime();
            if (open.size() >= 2 * MAX_CONNECTIONS) {
                closeQuietly(client);
                continue;
            }
            Socket server;
            try {
                server = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                client.setTcpNoDelay(true);
                server.setTcpNoDelay(true);
            } catch (IOException e) {
                closeQuietly(client);
                continue;
            }
            open.add(client);
            open.add(server);
            if (closed) {
                closeQuietly(client);
                closeQuietly(server);
                return;
            }
            int id = connections.incrementAndGet();
            // The handshake costs one RTT before the client's first byte may leave.
            AtomicInteger finished = new AtomicInteger();
            direction(client, server, acceptedAt + 2 * oneWayNanos, finished, "link-emulator-" + id + "-up");
            direction(server, client, acceptedAt, finished, "link-emulator-" + id + "-down");
        }
    }

    /** A packet and the time its last bit reaches the far end; {@code data == null} marks end of stream. */
    private record Packet(byte[] data, long deliverAt) {}

    private void direction(Socket from, Socket to, long linkFreeFrom, AtomicInteger finished, String name) {
        BlockingQueue<Packet> queue = new ArrayBlockingQueue<>(QUEUE_PACKETS);
        java.util.concurrent.Semaphore room = new java.util.concurrent.Semaphore(QUEUE_BYTES);
        start(() -> read(from, to, queue, room, linkFreeFrom), name + "-read");
        start(() -> send(from, to, queue, room, finished), name + "-send");
    }

    private void read(Socket from, Socket to, BlockingQueue<Packet> queue, java.util.concurrent.Semaphore room, long linkFreeFrom) {
        long linkFree = linkFreeFrom;
        byte[] buf = new byte[MAX_CHUNK_BYTES];
        try {
            InputStream in = from.getInputStream();
            int n;
            while ((n = in.read(buf, 0, chunkBytes())) >= 0) {
                while (!room.tryAcquire(n, 1, TimeUnit.SECONDS)) { // a full buffer: stop reading (TCP pushes back)
                    if (to.isClosed()) return;
                }
                long now = System.nanoTime();
                long serialization = Math.round(n * 8e9 / bitsPerSecond);
                linkFree = Math.max(now, linkFree) + serialization;
                if (!enqueue(queue, new Packet(Arrays.copyOf(buf, n), linkFree + oneWayNanos), to)) return;
            }
            enqueue(queue, new Packet(null, Math.max(System.nanoTime(), linkFree) + oneWayNanos), to);
        } catch (IOException e) {
            // reset or closed: end both ways
            closeQuietly(from);
            closeQuietly(to);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    /** Waits for queue space; false once the far side is closed (the sender has given up). */
    private static boolean enqueue(BlockingQueue<Packet> queue, Packet p, Socket to) throws InterruptedException {
        while (!queue.offer(p, 1, TimeUnit.SECONDS)) {
            if (to.isClosed()) return false;
        }
        return true;
    }

    /** Delivers packets on time; at end of stream half-closes, and closes both sockets once both directions ended. */
    private void send(Socket from, Socket to, BlockingQueue<Packet> queue, java.util.concurrent.Semaphore room, AtomicInteger finished) {
        try {
            OutputStream out = to.getOutputStream();
            while (true) {
                Packet p = queue.poll(1, TimeUnit.SECONDS);
                if (p == null) {
                    if (to.isClosed() || closed) break;
                    continue;
                }
                long wait = p.deliverAt - System.nanoTime();
                if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
                if (p.data == null) {
                    to.shutdownOutput(); // half-close: the far end sees EOF after the delay
                    if (finished.incrementAndGet() == 2) break;
                    return;
                }
                out.write(p.data);
                out.flush();
                room.release(p.data.length);
            }
        } catch (IOException e) {
            // the other side went away
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeQuietly(from);
        closeQuietly(to);
    }

    private void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
        open.remove(s);
    }

    /** Stops accepting, closes every forwarded connection and stops the forwarding threads. */
    @Override
    public void close() {
        closed = true;
        try {
            listener.close();
        } catch (IOException ignored) {
            // already closed
        }
        for (Socket s : open) closeQuietly(s);
        for (Thread t : threads) t.interrupt();
    }
}
