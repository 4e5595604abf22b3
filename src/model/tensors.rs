//! Small helpers between host buffers and ONNX Runtime values.

use crate::error::{Error, Result};
use crate::runtime::Graph;

/// An owned ONNX Runtime tensor from a shape and values.
fn tensor<T>(graph: &Graph, shape: &[usize], data: Vec<T>) -> Result<ort::value::DynValue>
where
    T: ort::value::PrimitiveTensorElementType + std::fmt::Debug + Clone + 'static,
{
    let shape: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
    Ok(ort::value::Tensor::from_array((shape, data))
        .map_err(|e| graph.run_error(e))?
        .into_dyn())
}

/// An owned float32 ONNX Runtime tensor from a shape and values.
pub(crate) fn f32_tensor(
    graph: &Graph,
    shape: &[usize],
    data: Vec<f32>,
) -> Result<ort::value::DynValue> {
    tensor(graph, shape, data)
}

/// An owned int64 ONNX Runtime tensor from a shape and values.
pub(crate) fn i64_tensor(
    graph: &Graph,
    shape: &[usize],
    data: Vec<i64>,
) -> Result<ort::value::DynValue> {
    tensor(graph, shape, data)
}

/// Shape and a view of the values of a float32 output.
pub(crate) fn view_f32<'a>(
    graph: &Graph,
    name: &str,
    v: &'a ort::value::DynValue,
) -> Result<(Vec<usize>, &'a [f32])> {
    let (shape, data) = v
        .try_extract_tensor::<f32>()
        .map_err(|e| graph.run_error(format!("output {name}: {e}")))?;
    Ok((shape.iter().map(|&d| d as usize).collect(), data))
}

/// Takes a named output out of a run's results.
pub(crate) fn take(
    graph: &Graph,
    outputs: &mut ort::session::SessionOutputs<'_>,
    name: &str,
) -> Result<ort::value::DynValue> {
    outputs
        .remove(name)
        .ok_or_else(|| graph.run_error(format!("graph produced no output {name:?}")))
}

/// Takes several named outputs out of a run's results, in the order of `names`.
pub(crate) fn take_all(
    graph: &Graph,
    outputs: &mut ort::session::SessionOutputs<'_>,
    names: &[String],
) -> Result<Vec<ort::value::DynValue>> {
    names.iter().map(|n| take(graph, outputs, n)).collect()
}

/// Gathers slices along axis 1 of a tensor shaped `[outer, rows, inner...]`: new row `i` is old
/// row `keep[i]`.
pub(crate) fn gather_axis1(
    data: &[f32],
    outer: usize,
    rows: usize,
    keep: &[usize],
) -> Result<Vec<f32>> {
    if outer == 0 || rows == 0 {
        return Ok(Vec::new());
    }
    let inner = data.len() / (outer * rows);
    if inner * outer * rows != data.len() {
        return Err(Error::Shape(format!(
            "cannot split {} values into {outer} × {rows} blocks",
            data.len()
        )));
    }
    let mut out = Vec::with_capacity(outer * keep.len() * inner);
    for o in 0..outer {
        let base = o * rows * inner;
        for &k in keep {
            out.extend_from_slice(&data[base + k * inner..base + (k + 1) * inner]);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gathers_rows_in_every_outer_block() {
        // outer 2, rows 3, inner 2
        let data: Vec<f32> = (0..12).map(|x| x as f32).collect();
        let g = gather_axis1(&data, 2, 3, &[2, 0, 0]).unwrap();
        assert_eq!(g, vec![4., 5., 0., 1., 0., 1., 10., 11., 6., 7., 6., 7.]);
    }
}
