package dev.splitllm.optimizer.profile;

import java.util.Arrays;

/**
 * A measured cost as a function of one size (tokens T, or context length): points
 * {@code (x[i], y[i])} with strictly increasing x. {@link #at} interpolates linearly between
 * points and extrapolates linearly from the two nearest end points (never below 0); a single
 * point is read as cost proportional to x. At most {@link #MAX_POINTS} points.
 *
 * @param x sizes, strictly increasing, each >= 0
 * @param y costs (milliseconds), each finite and >= 0
 */
public record Curve(double[] x, double[] y) {
    public static final int MAX_POINTS = 64;

    public Curve {
        if (x == null || y == null) {
            throw new IllegalArgumentException("curve needs both x and y");
        }
        if (x.length == 0 || x.length != y.length || x.length > MAX_POINTS) {
            throw new IllegalArgumentException("curve needs 1.." + MAX_POINTS + " points with as many x as y, got "
                    + x.length + " x and " + y.length + " y");
        }
        for (int i = 0; i < x.length; i++) {
            if (!Double.isFinite(x[i]) || x[i] < 0 || !Double.isFinite(y[i]) || y[i] < 0) {
                throw new IllegalArgumentException("curve point " + i + " (" + x[i] + ", " + y[i] + ") must be finite and >= 0");
            }
            if (i > 0 && !(x[i] > x[i - 1])) {
                throw new IllegalArgumentException("curve x must be strictly increasing, got " + Arrays.toString(x));
            }
        }
        x = x.clone();
        y = y.clone();
    }

    /** A curve through the given (x, y) pairs. */
    public static Curve of(double[] x, double[] y) {
        return new Curve(x, y);
    }

    /** The cost at {@code v}. */
    public double at(double v) {
        int n = x.length;
        if (n == 1) {
            return x[0] == 0 ? y[0] : y[0] * v / x[0];
        }
        int i;
        if (v <= x[0]) {
            i = 0;
        } else if (v >= x[n - 1]) {
            i = n - 2;
        } else {
            i = Arrays.binarySearch(x, v);
            if (i >= 0) {
                return y[i];
            }
            i = -i - 2;
        }
        double t = (v - x[i]) / (x[i + 1] - x[i]);
        return Math.max(0, y[i] + t * (y[i + 1] - y[i]));
    }

    /** A copy with every cost multiplied by {@code f}. */
    public Curve scaled(double f) {
        double[] ny = y.clone();
        for (int i = 0; i < ny.length; i++) ny[i] *= f;
        return new Curve(x, ny);
    }

    @Override
    public double[] x() {
        return x.clone();
    }

    @Override
    public double[] y() {
        return y.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Curve c && Arrays.equals(x, c.x) && Arrays.equals(y, c.y);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(x) + Arrays.hashCode(y);
    }

    @Override
    public String toString() {
        return "Curve" + Arrays.toString(x) + "->" + Arrays.toString(y);
    }
}
