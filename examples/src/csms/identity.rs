//! Security profile 3: the charger's TLS client certificate must name it.
//!
//! A00.FR.405: the CN of the certificate's subject contains the charger's
//! serial number, as its BootNotification gives it (1.6
//! `chargePointSerialNumber`, 2.x `chargingStation.serialNumber`). A boot
//! without a serial number is checked against the charger's id instead:
//! the only other name the charger has.

use rustls::pki_types::CertificateDer;

/// The subject's common name; `None` when the certificate does not parse
/// or names no one.
pub fn common_name(certificate: &CertificateDer<'_>) -> Option<String> {
    let (_, certificate) = x509_parser::parse_x509_certificate(certificate.as_ref()).ok()?;
    let cn = certificate.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_owned)
}

/// Whether a certificate whose CN is `cn` belongs to the charger `id`
/// that boots with `serial`.
pub fn names(cn: &str, id: &str, serial: Option<&str>) -> bool {
    match serial.filter(|s| !s.is_empty()) {
        Some(serial) => cn.contains(serial),
        None => cn.contains(id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_name_must_hold_the_serial_number_or_else_the_id() {
        assert!(names("CS SN-0042", "CP-1", Some("SN-0042")));
        assert!(!names("CS SN-0042", "CP-1", Some("SN-0043")));
        assert!(names("CP-1", "CP-1", None));
        assert!(names("CP-1", "CP-1", Some("")));
        assert!(!names("CP-2", "CP-1", None));
    }

    #[test]
    fn the_common_name_is_read_from_the_subject() {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "SN-0042");
        let key = rcgen::KeyPair::generate().unwrap();
        let certificate = params.self_signed(&key).unwrap();
        assert_eq!(common_name(certificate.der()).as_deref(), Some("SN-0042"));
        assert_eq!(common_name(&CertificateDer::from(vec![0x30, 0x00])), None);
    }
}
