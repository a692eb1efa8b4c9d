//! 2-D matrix products straight into gemm: strided operands (a transpose is a view, never a
//! copy) and outputs written into fresh memory (flex's own matmul zero-fills each output and
//! then copies it to realign it: 14% of a CPU training step).

/// A 2-D operand: its storage and where its elements sit in it.
#[derive(Clone, Copy, Debug)]
pub struct Operand<'a> {
    /// The whole storage.
    pub data: &'a [f32],
    /// Index of element (0, 0).
    pub offset: usize,
    /// Rows and columns.
    pub shape: [usize; 2],
    /// Steps between rows and between columns (non-negative).
    pub strides: [usize; 2],
}

impl<'a> Operand<'a> {
    /// Rows r0..r1 and columns c0..c1 of a row-major matrix `width` columns wide.
    pub fn block(
        data: &'a [f32], width: usize, (r0, r1): (usize, usize), (c0, c1): (usize, usize),
    ) -> Self {
        Operand { data, offset: r0 * width + c0, shape: [r1 - r0, c1 - c0], strides: [width, 1] }
    }

    /// Rows r0..r1 and columns c0..c1 of this operand.
    pub fn sub(self, (r0, r1): (usize, usize), (c0, c1): (usize, usize)) -> Self {
        assert!(
            r0 <= r1 && r1 <= self.shape[0] && c0 <= c1 && c1 <= self.shape[1],
            "matmul: block outside the operand"
        );
        Operand {
            offset: self.offset + r0 * self.strides[0] + c0 * self.strides[1],
            shape: [r1 - r0, c1 - c0],
            ..self
        }
    }

    /// The same elements read as the transpose.
    pub fn t(self) -> Self {
        Operand {
            shape: [self.shape[1], self.shape[0]],
            strides: [self.strides[1], self.strides[0]],
            ..self
        }
    }

    fn in_bounds(&self) -> bool {
        let [r, c] = self.shape;
        r == 0
            || c == 0
            || self.offset + (r - 1) * self.strides[0] + (c - 1) * self.strides[1] < self.data.len()
    }
}

/// Products at least this large (m n k) use both cores, as flex does.
const PARALLEL: usize = 192 * 192 * 192;

/// a [m, k] times b [k, n], row-major [m, n]; both cores when the product is large.
pub fn matmul(a: Operand, b: Operand) -> Vec<f32> {
    let (m, n) = (a.shape[0], b.shape[1]);
    let parallel = m * n * a.shape[1] >= PARALLEL;
    let mut out = Vec::<f32>::with_capacity(m * n);
    // SAFETY: the capacity holds m x n elements, all of which `product` writes; then the
    // length can cover them.
    unsafe {
        product(out.as_mut_ptr(), n, a, b, parallel);
        out.set_len(m * n);
    }
    out
}

/// dst = a [m, k] times b [k, n], row i of the product at dst[i * ld..][..n], on the calling
/// thread (for callers that already run in parallel, like attention's heads).
pub fn matmul_into(dst: &mut [f32], ld: usize, a: Operand, b: Operand) {
    let (m, n) = (a.shape[0], b.shape[1]);
    assert!(ld >= n && (m == 0 || (m - 1) * ld + n <= dst.len()), "matmul: output size");
    // SAFETY: dst holds rows of n elements ld apart.
    unsafe { matmul_to(dst.as_mut_ptr(), ld, a, b) }
}

/// [`matmul_into`] through a raw pointer, for threads writing disjoint rows of one output.
///
/// # Safety
/// `dst` must be valid for writes of m rows of n f32, `ld` apart, that no one else accesses.
pub unsafe fn matmul_to(dst: *mut f32, ld: usize, a: Operand, b: Operand) {
    // SAFETY: passed on from the caller.
    unsafe { product(dst, ld, a, b, false) }
}

/// Writes a times b to dst (rows `ld` apart) without reading it.
///
/// # Safety
/// `dst` must be valid for writes of m rows of n f32, `ld` apart.
unsafe fn product(dst: *mut f32, ld: usize, a: Operand, b: Operand, parallel: bool) {
    let ([m, k], [k2, n]) = (a.shape, b.shape);
    assert_eq!(k, k2, "matmul: inner sizes differ ({m}x{k} times {k2}x{n})");
    assert!(a.in_bounds() && b.in_bounds(), "matmul: operand strides leave its storage");
    if k == 0 {
        for i in 0..m {
            // SAFETY: the caller guarantees row i's n writable elements.
            unsafe { std::ptr::write_bytes(dst.add(i * ld), 0, n) };
        }
        return;
    }
    let parallelism = if parallel { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None };
    // SAFETY: every index gemm reads is inside a and b (checked above); it writes all m x n
    // outputs without reading them (read_dst = false), which the caller makes room for.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            ld as isize,
            false,
            a.data.as_ptr().add(a.offset),
            a.strides[1] as isize,
            a.strides[0] as isize,
            b.data.as_ptr().add(b.offset),
            b.strides[1] as isize,
            b.strides[0] as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{Operand, matmul};

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        (0..m * n).map(|ij| (0..k).map(|c| a[ij / n * k + c] * b[c * n + ij % n]).sum()).collect()
    }

    #[test]
    fn strided_products_match_the_naive_ones() {
        let (m, k, n) = (37, 19, 300);
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 - 3.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.5).collect();
        let want = naive(&a, &b, m, k, n);
        let op = |data, rows, cols| Operand::block(data, cols, (0, rows), (0, cols));
        assert_eq!(matmul(op(&a, m, k), op(&b, k, n)), want);
        let mut into = vec![f32::NAN; m * n];
        super::matmul_into(&mut into, n, op(&a, m, k), op(&b, k, n));
        assert_eq!(into, want);
        // Into rows 2 apart from their width: the gaps are left alone.
        let mut wide = vec![f32::NAN; m * (n + 2)];
        super::matmul_into(&mut wide, n + 2, op(&a, m, k), op(&b, k, n));
        for i in 0..m {
            assert_eq!(wide[i * (n + 2)..][..n], want[i * n..][..n]);
            assert!(wide[i * (n + 2) + n..][..2].iter().all(|x| x.is_nan()));
        }
        // b^T stored row-major, read back through its transpose.
        let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        assert_eq!(matmul(op(&a, m, k), op(&bt, n, k).t()), want);
        // An offset view: rows 1.. of a matrix with one extra leading row.
        let mut padded = vec![9.0; k];
        padded.extend_from_slice(&a);
        let view = Operand { data: &padded, offset: k, shape: [m, k], strides: [k, 1] };
        assert_eq!(matmul(view, op(&b, k, n)), want);
    }
}
