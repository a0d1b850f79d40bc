package dev.splitllm.cloud;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import java.util.Collections;
import java.util.Enumeration;

/**
 * Keeps Jetty from creating HTTP sessions. The server is stateless per request (bearer tokens),
 * but Javalin reads the HTTP session on every WebSocket upgrade, which made Jetty create one
 * (a {@code JSESSIONID} that lives until it expires) for every attempt, even one answered 401.
 * This filter hands every request an empty, attribute-less session that is never stored.
 */
final class NoHttpSessions implements Filter {

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain) throws IOException, ServletException {
        chain.doFilter(request instanceof HttpServletRequest http ? new Sessionless(http) : request, response);
    }

    private static final class Sessionless extends HttpServletRequestWrapper {
        private HttpSession empty;

        Sessionless(HttpServletRequest request) {
            super(request);
        }

        @Override
        public HttpSession getSession(boolean create) {
            if (!create) return null;
            if (empty == null) empty = new EmptySession(getServletContext());
            return empty;
        }

        @Override
        public HttpSession getSession() {
            return getSession(true);
        }

        @Override
        public String changeSessionId() {
            throw new IllegalStateException("HTTP sessions are disabled on this server");
        }

        @Override
        public boolean isRequestedSessionIdValid() {
            return false;
        }
    }

    /** A session that holds nothing and refuses attributes. */
    private static final class EmptySession implements HttpSession {
        private final ServletContext context;
        private final long created = System.currentTimeMillis();

        EmptySession(ServletContext context) {
            this.context = context;
        }

        @Override public long getCreationTime() { return created; }
        @Override public String getId() { return ""; }
        @Override public long getLastAccessedTime() { return created; }
        @Override public ServletContext getServletContext() { return context; }
        @Override public void setMaxInactiveInterval(int interval) { }
        @Override public int getMaxInactiveInterval() { return 0; }
        @Override public Object getAttribute(String name) { return null; }
        @Override public Enumeration<String> getAttributeNames() { return Collections.emptyEnumeration(); }
        @Override public void setAttribute(String name, Object value) {
            throw new UnsupportedOperationException("HTTP sessions are disabled on this server");
        }
        @Override public void removeAttribute(String name) { }
        @Override public void invalidate() { }
        @Override public boolean isNew() { return true; }
    }
}
