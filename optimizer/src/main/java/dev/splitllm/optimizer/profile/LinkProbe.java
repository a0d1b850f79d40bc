package dev.splitllm.optimizer.profile;

import java.io.IOException;

/**
 * Measures the link to a running cloud server (the server's {@code /v1/probe} endpoint: the
 * lead binds it with an HTTP client). The optimizer only needs the result.
 */
public interface LinkProbe {

    /** Measures uplink, downlink and RTT; the result has source "probe". */
    LinkProfile measure() throws IOException;
}
