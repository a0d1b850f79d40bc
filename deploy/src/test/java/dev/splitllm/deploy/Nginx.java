package dev.splitllm.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Debian's nginx with deploy/nginx/splitllm.conf, as a plain foreground process under its own prefix (as scripts/cluster.sh runs it). */
final class Nginx {
    private Nginx() {}

    static Path find() {
        for (String p : new String[] {"/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"}) {
            if (Files.isExecutable(Paths.get(p))) return Paths.get(p);
        }
        return null;
    }

    /** The repository's deploy/nginx/splitllm.conf (the test runs in deploy/). */
    static Path sharedConf() {
        return Paths.get("nginx", "splitllm.conf").toAbsolutePath();
    }

    static Process start(Path bin, Path prefix, int port, int[] replicaPorts) throws IOException {
        Files.createDirectories(prefix.resolve("conf"));
        Files.createDirectories(prefix.resolve("logs"));
        Path tmp = Files.createDirectories(prefix.resolve("tmp"));
        tmp.toFile().setWritable(true, false);
        Files.copy(sharedConf(), prefix.resolve("conf/splitllm.conf"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        StringBuilder servers = new StringBuilder();
        for (int p : replicaPorts) servers.append("server 127.0.0.1:").append(p).append(" max_fails=1 fail_timeout=10s;\n");
        Files.writeString(prefix.resolve("conf/splitllm-replicas.conf"), servers);
        Files.writeString(prefix.resolve("conf/splitllm-listen.conf"), "listen 127.0.0.1:" + port + ";\n");
        String p = prefix.toString();
        Files.writeString(prefix.resolve("conf/nginx.conf"), "worker_processes 1;\npid " + p + "/nginx.pid;\nerror_log " + p
                + "/logs/error.log warn;\nevents { worker_connections 1024; }\nhttp {\n    access_log " + p + "/logs/access.log;\n"
                + "    client_body_temp_path " + p + "/tmp/body;\n    proxy_temp_path " + p + "/tmp/proxy;\n"
                + "    fastcgi_temp_path " + p + "/tmp/fastcgi;\n    uwsgi_temp_path " + p + "/tmp/uwsgi;\n"
                + "    scgi_temp_path " + p + "/tmp/scgi;\n    include splitllm.conf;\n}\n");
        ProcessBuilder pb = new ProcessBuilder(bin.toString(), "-p", p, "-c", p + "/conf/nginx.conf", "-g", "daemon off;");
        pb.redirectErrorStream(true).redirectOutput(prefix.resolve("logs/stdout.log").toFile());
        return pb.start();
    }
}
