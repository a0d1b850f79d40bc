package dev.splitllm.cloud;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.WebSocket;
import okhttp3.WebSocketListener;
import okio.ByteString;

/** A bare WebSocket client for sending hand-made (and broken) frames to the server. */
final class RawStream implements AutoCloseable {
    final BlockingQueue<String> messages = new LinkedBlockingQueue<>();
    volatile String failure;
    volatile int closeCode = -1;
    final WebSocket ws;

    RawStream(OkHttpClient client, String url, String token) {
        Request.Builder b = new Request.Builder().url(url);
        if (token != null) b.header("Authorization", "Bearer " + token);
        ws = client.newWebSocket(b.build(), new WebSocketListener() {
            @Override
            public void onMessage(WebSocket w, String text) {
                messages.add(text);
            }

            @Override
            public void onClosing(WebSocket w, int code, String reason) {
                closeCode = code;
                messages.add("closed:" + code + ":" + reason);
            }

            @Override
            public void onFailure(WebSocket w, Throwable t, Response response) {
                failure = (response == null ? "" : "HTTP " + response.code() + " ") + t;
                messages.add("failure:" + failure);
            }
        });
    }

    void send(byte[] frame) {
        ws.send(ByteString.of(frame));
    }

    String next() throws InterruptedException {
        String m = messages.poll(30, TimeUnit.SECONDS);
        if (m == null) throw new AssertionError("no message from the server within 30 s");
        return m;
    }

    @Override
    public void close() {
        ws.close(1000, null);
    }
}
