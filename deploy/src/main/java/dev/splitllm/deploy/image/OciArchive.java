package dev.splitllm.deploy.image;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.GZIPOutputStream;

/**
 * Writes an OCI image layout (image-spec v1.0) as one tar: {@code oci-layout}, {@code index.json}
 * and {@code blobs/sha256/*} (gzip layers, the image config, the manifest). This is what
 * {@code skopeo copy oci-archive:...}, {@code podman load} and {@code docker load} (25+) read.
 */
public final class OciArchive {
    public static final String MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";
    public static final String CONFIG_TYPE = "application/vnd.oci.image.config.v1+json";
    public static final String LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip";
    public static final String INDEX_TYPE = "application/vnd.oci.image.index.v1+json";
    public static final String REF_NAME = "org.opencontainers.image.ref.name";

    static final ObjectMapper JSON = new ObjectMapper();

    /** A compressed layer on disk: its blob digest and size, and the digest of the uncompressed tar (diff_id). */
    public record Layer(String comment, Path blob, String digest, long size, String diffId) {}

    /** Fills one layer's tar. */
    public interface Contents {
        void write(TarWriter tar) throws IOException;
    }

    /** Writes one layer as gzip(tar) into {@code blob}, hashing both the tar (diff_id) and the gzip (digest). */
    public static Layer layer(String comment, Path blob, Contents contents) throws IOException {
        Hashing compressed;
        Hashing plain;
        try (OutputStream file = new BufferedOutputStream(Files.newOutputStream(blob), 1 << 16)) {
            compressed = new Hashing(file);
            // GZIPOutputStream writes mtime 0 and no file name: the same tar gives the same bytes.
            GZIPOutputStream gzip = new GZIPOutputStream(compressed, 1 << 16);
            plain = new Hashing(gzip);
            TarWriter tar = new TarWriter(plain);
            contents.write(tar);
            tar.close();
            gzip.finish();
            gzip.flush();
        }
        return new Layer(comment, blob, compressed.digest(), compressed.count, plain.digest());
    }

    /**
     * Writes the archive: the config (with {@code rootfs.diff_ids} and {@code history} filled in
     * from the layers), the manifest, and an index naming the manifest by {@code tag}.
     */
    public static void write(Path out, ObjectNode config, List<Layer> layers, String tag) throws IOException {
        ArrayNode diffIds = config.putObject("rootfs").put("type", "layers").putArray("diff_ids");
        ArrayNode history = config.putArray("history");
        for (Layer l : layers) {
            diffIds.add(l.diffId());
            history.addObject().put("created", config.path("created").asText()).put("created_by", "splitllm ImageBuilder")
                    .put("comment", l.comment());
        }
        byte[] configBytes = JSON.writeValueAsBytes(config);

        ObjectNode manifest = JSON.createObjectNode();
        manifest.put("schemaVersion", 2).put("mediaType", MANIFEST_TYPE);
        descriptor(manifest.putObject("config"), CONFIG_TYPE, sha256(configBytes), configBytes.length);
        ArrayNode ls = manifest.putArray("layers");
        for (Layer l : layers) descriptor(ls.addObject(), LAYER_TYPE, l.digest(), l.size());
        byte[] manifestBytes = JSON.writeValueAsBytes(manifest);

        ObjectNode index = JSON.createObjectNode();
        index.put("schemaVersion", 2).put("mediaType", INDEX_TYPE);
        ObjectNode m = descriptor(index.putArray("manifests").addObject(), MANIFEST_TYPE, sha256(manifestBytes), manifestBytes.length);
        m.putObject("annotations").put(REF_NAME, tag);

        Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
        try (OutputStream file = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
            TarWriter tar = new TarWriter(file);
            tar.file("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(), 0644);
            tar.file("index.json", JSON.writeValueAsBytes(index), 0644);
            tar.dir("blobs/sha256", 0755, 0, 0);
            tar.file(blobPath(sha256(manifestBytes)), manifestBytes, 0644);
            tar.file(blobPath(sha256(configBytes)), configBytes, 0644);
            List<String> written = new ArrayList<>();
            for (Layer l : layers) {
                if (written.contains(l.digest())) continue; // identical layers share one blob
                written.add(l.digest());
                tar.file(blobPath(l.digest()), l.blob(), 0644);
            }
            tar.close();
        }
        Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    public static String blobPath(String digest) {
        return "blobs/" + digest.replace(':', '/');
    }

    public static String sha256(byte[] bytes) {
        return "sha256:" + HexFormat.of().formatHex(newSha256().digest(bytes));
    }

    private static ObjectNode descriptor(ObjectNode d, String type, String digest, long size) {
        return d.put("mediaType", type).put("digest", digest).put("size", size);
    }

    private static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Counts and hashes the bytes that pass through. */
    private static final class Hashing extends FilterOutputStream {
        final MessageDigest sha = newSha256();
        long count;

        Hashing(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            sha.update((byte) b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            sha.update(b, off, len);
            count += len;
        }

        String digest() {
            return "sha256:" + HexFormat.of().formatHex(sha.digest());
        }
    }
}
