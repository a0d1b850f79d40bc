package dev.splitllm.eval;

/**
 * Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations (d ≤ a few
 * hundred: the studies' d × d covariance and Fisher matrices). Plain and slow, O(d³) per sweep,
 * but exact enough (off-diagonal mass below 1e-24 of the start) and free of dependencies.
 */
final class SymmetricEigen {
    /** Eigenvalues, unsorted; column k of {@link #vectors} belongs to {@code values[k]}. */
    final double[] values;
    /** Orthonormal eigenvectors as columns: {@code vectors[i][k]} is component i of vector k. */
    final double[][] vectors;

    SymmetricEigen(double[][] symmetric) {
        int n = symmetric.length;
        double[][] a = new double[n][];
        for (int i = 0; i < n; i++) {
            if (symmetric[i].length != n) {
                throw new IllegalArgumentException("not square: row " + i + " has " + symmetric[i].length + " of " + n);
            }
            a[i] = symmetric[i].clone();
        }
        double[][] v = new double[n][n];
        for (int i = 0; i < n; i++) {
            v[i][i] = 1;
        }
        double start = offDiagonal(a);
        for (int sweep = 0; sweep < 50 && offDiagonal(a) > 1e-24 * Math.max(start, 1e-300); sweep++) {
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    if (a[p][q] == 0) {
                        continue;
                    }
                    double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                    double t = theta == 0 ? 1 : Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    double c = 1 / Math.sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++) {
                        double kp = a[k][p], kq = a[k][q];
                        a[k][p] = c * kp - s * kq;
                        a[k][q] = s * kp + c * kq;
                    }
                    for (int k = 0; k < n; k++) {
                        double pk = a[p][k], qk = a[q][k];
                        a[p][k] = c * pk - s * qk;
                        a[q][k] = s * pk + c * qk;
                    }
                    for (int k = 0; k < n; k++) {
                        double kp = v[k][p], kq = v[k][q];
                        v[k][p] = c * kp - s * kq;
                        v[k][q] = s * kp + c * kq;
                    }
                }
            }
        }
        values = new double[n];
        for (int i = 0; i < n; i++) {
            values[i] = a[i][i];
        }
        vectors = v;
    }

    /** V · diag(f(λ)) · Vᵀ: the matrix function of the decomposed matrix (e.g. its square root). */
    double[][] apply(java.util.function.DoubleUnaryOperator f) {
        int n = values.length;
        double[] fl = new double[n];
        for (int k = 0; k < n; k++) {
            fl[k] = f.applyAsDouble(values[k]);
        }
        double[][] out = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                double s = 0;
                for (int k = 0; k < n; k++) {
                    s += vectors[i][k] * fl[k] * vectors[j][k];
                }
                out[i][j] = s;
                out[j][i] = s;
            }
        }
        return out;
    }

    private static double offDiagonal(double[][] a) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            for (int j = i + 1; j < a.length; j++) {
                s += a[i][j] * a[i][j];
            }
        }
        return s;
    }
}
