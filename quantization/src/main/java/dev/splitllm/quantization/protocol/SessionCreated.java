package dev.splitllm.quantization.protocol;

/**
 * Response to {@code POST /v1/sessions}.
 *
 * @param sessionId     unguessable id (128 random bits, hex); bound to the creating token
 * @param streamPath    WebSocket path for the token loop, e.g. "/v1/sessions/ID/stream"
 * @param frameSession  64-bit tag every uplink frame of this session must carry
 * @param splitLayer    as requested
 * @param dim           hidden width d every frame must have
 * @param maxSeqLen     positions granted
 * @param codec         codec spec in canonical form
 * @param cloudWeights  cloud segment weight format
 * @param maxFrameBytes largest uplink frame the server accepts
 * @param epoch         0 when created; each replay to another replica makes it one higher
 * @param maxDraft      most drafted tokens a DRAFT frame of this session may carry (0: the server
 *                      takes no drafts; an older server does not send it)
 * @param resumeTicket  proof, for any replica of this deployment, that this session (its id, frame
 *                      tag, parameters) belongs to the creating token; a replay must carry it
 * @param maxFrameVersion newest uplink frame version the server decodes for this session: 3 when it
 *                      takes compact frames (docs/WIRE.md §11), which the edge then sends; an older
 *                      server does not send it (0), and the edge sends versions 1 and 2
 */
public record SessionCreated(String sessionId, String streamPath, long frameSession, int splitLayer, int dim,
                             int maxSeqLen, String codec, String cloudWeights, int maxFrameBytes, long epoch,
                             String resumeTicket, int maxDraft, int maxFrameVersion) {

    /** A server without compact frames (maxFrameVersion 0). */
    public SessionCreated(String sessionId, String streamPath, long frameSession, int splitLayer, int dim,
                          int maxSeqLen, String codec, String cloudWeights, int maxFrameBytes, long epoch,
                          String resumeTicket, int maxDraft) {
        this(sessionId, streamPath, frameSession, splitLayer, dim, maxSeqLen, codec, cloudWeights, maxFrameBytes, epoch,
                resumeTicket, maxDraft, 0);
    }

    /** Without drafts (maxDraft 0). */
    public SessionCreated(String sessionId, String streamPath, long frameSession, int splitLayer, int dim,
                          int maxSeqLen, String codec, String cloudWeights, int maxFrameBytes, long epoch,
                          String resumeTicket) {
        this(sessionId, streamPath, frameSession, splitLayer, dim, maxSeqLen, codec, cloudWeights, maxFrameBytes, epoch,
                resumeTicket, 0);
    }

    /** A session that cannot be replayed elsewhere (epoch 0, no ticket). */
    public SessionCreated(String sessionId, String streamPath, long frameSession, int splitLayer, int dim,
                          int maxSeqLen, String codec, String cloudWeights, int maxFrameBytes) {
        this(sessionId, streamPath, frameSession, splitLayer, dim, maxSeqLen, codec, cloudWeights, maxFrameBytes, 0, null);
    }
}
