package dev.splitllm.optimizer.profile;

import java.io.IOException;

/**
 * Measures the link to a running cloud server through its {@code /v1/probe} endpoint (the CLI's
 * {@code HttpLinkProbe} implements it over HTTP). The optimizer only needs the result.
 */
public interface LinkProbe {

    /** Measures uplink, downlink and RTT; the result has source "probe". */
    LinkProfile measure() throws IOException;
}
