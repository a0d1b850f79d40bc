package dev.splitllm.cloud;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * A WebSocket client written on a bare socket, for attacks no polite client library makes: our
 * own upgrade headers (offering compression), frames sent without ever reading the replies, a
 * tiny receive window. Every read has a timeout.
 */
final class RawWebSocket implements AutoCloseable {
    final Socket socket;
    final int status;
    final Map<String, String> headers = new LinkedHashMap<>();
    private final InputStream in;
    private final OutputStream out;
    private final Random mask = new Random(7);

    /** Connects and sends the upgrade; {@code token} may be null. Reads the status line and headers. */
    RawWebSocket(int port, String path, String token, int receiveBuffer) throws IOException {
        socket = new Socket();
        if (receiveBuffer > 0) socket.setReceiveBufferSize(receiveBuffer);
        socket.setSoTimeout(10_000);
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        in = socket.getInputStream();
        out = socket.getOutputStream();
        String key = Base64.getEncoder().encodeToString(new byte[16]);
        String req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                + (token == null ? "" : "Authorization: Bearer " + token + "\r\n") + "\r\n";
        out.write(req.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String statusLine = line();
        status = Integer.parseInt(statusLine.split(" ")[1]);
        for (String l = line(); !l.isEmpty(); l = line()) {
            int c = l.indexOf(':');
            headers.merge(l.substring(0, c).trim().toLowerCase(Locale.ROOT), l.substring(c + 1).trim(), (a, b) -> a + "\n" + b);
        }
    }

    private String line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) throw new IOException("connection closed in the headers");
            if (c != '\r') b.write(c);
            if (b.size() > 16384) throw new IOException("header line too long");
        }
        return b.toString(StandardCharsets.US_ASCII);
    }

    /** Sends one masked binary message (opcode 2) as a single frame. */
    void sendBinary(byte[] payload) throws IOException {
        out.write(frame(0x82, payload));
        out.flush();
    }

    /** Sends one masked text message (opcode 1) as a single frame. */
    void sendText(String text) throws IOException {
        out.write(frame(0x81, text.getBytes(StandardCharsets.UTF_8)));
        out.flush();
    }

    static byte[] frameHeaderOnly(int opcodeAndFin, long length) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(opcodeAndFin);
        if (length < 126) {
            b.write(0x80 | (int) length);
        } else if (length < 65536) {
            b.write(0x80 | 126);
            b.write((int) (length >> 8));
            b.write((int) length);
        } else {
            b.write(0x80 | 127);
            for (int i = 7; i >= 0; i--) b.write((int) (length >> (8 * i)));
        }
        return b.toByteArray();
    }

    private byte[] frame(int opcodeAndFin, byte[] payload) {
        ByteArrayOutputStream b = new ByteArrayOutputStream(payload.length + 14);
        b.writeBytes(frameHeaderOnly(opcodeAndFin, payload.length));
        byte[] m = new byte[4];
        mask.nextBytes(m);
        b.writeBytes(m);
        for (int i = 0; i < payload.length; i++) b.write(payload[i] ^ m[i & 3]);
        return b.toByteArray();
    }

    /** One server frame: [opcode, payload...]; a close frame's payload is its code and reason. */
    record Message(int opcode, byte[] payload) {
        String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }

        int closeCode() {
            return payload.length >= 2 ? ((payload[0] & 0xff) << 8) | (payload[1] & 0xff) : -1;
        }
    }

    Message read() throws IOException {
        DataInputStream d = new DataInputStream(in);
        int b0 = d.readUnsignedByte(), b1 = d.readUnsignedByte();
        long len = b1 & 0x7f;
        if (len == 126) len = d.readUnsignedShort();
        else if (len == 127) len = d.readLong();
        if (len > (1 << 20)) throw new IOException("server frame of " + len + " bytes");
        byte[] p = new byte[(int) len];
        d.readFully(p);
        return new Message(b0 & 0x0f, p);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
