//! The protobuf wire format, read-only and borrowed: enough to walk an ONNX file's messages.
//!
//! A message is a run of fields, each a key (field number and wire type) and a value; this reader
//! yields them in order and leaves meaning to the caller, as `protoc`-generated code would.

/// One field's value as the wire carries it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Varint(u64),
    /// Strings, bytes, nested messages and packed repeated numbers.
    Bytes(&'a [u8]),
    Fixed32(u32),
    /// A 64-bit fixed-width value, skipped (ONNX weights do not use it).
    Fixed64,
}

/// Why bytes are not a protobuf message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) &'static str);

/// The fields of one message, in wire order.
#[derive(Debug, Clone)]
pub(crate) struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    pub(crate) const fn new(message: &'a [u8]) -> Self {
        Self { rest: message }
    }

    fn varint(&mut self) -> Result<u64, Malformed> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.rest.split_first().ok_or(Malformed("a varint runs past the end"))?;
            self.rest = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Malformed("a varint is longer than ten bytes"))
    }

    fn take(&mut self, length: usize) -> Result<&'a [u8], Malformed> {
        if length > self.rest.len() {
            return Err(Malformed("a field runs past the end"));
        }
        let (taken, rest) = self.rest.split_at(length);
        self.rest = rest;
        Ok(taken)
    }

    fn field(&mut self) -> Result<(u64, Value<'a>), Malformed> {
        let key = self.varint()?;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed64
            }
            2 => {
                let length = usize::try_from(self.varint()?).map_err(|_| Malformed("a length overflows"))?;
                Value::Bytes(self.take(length)?)
            }
            5 => Value::Fixed32(u32::from_le_bytes(self.fixed()?)),
            _ => return Err(Malformed("an unknown wire type")),
        };
        Ok((key >> 3, value))
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        let bytes = self.take(N)?;
        let mut array = [0u8; N];
        array.copy_from_slice(bytes);
        Ok(array)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Value<'a>), Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let field = self.field();
        if field.is_err() {
            self.rest = &[];
        }
        Some(field)
    }
}

/// The numbers of a repeated `int64` field, packed (one `Bytes` value) or not (one `Varint` each).
pub(crate) fn push_varints(value: Value<'_>, into: &mut Vec<i64>) -> Result<(), Malformed> {
    // int64 travels as its two's-complement bits.
    #[expect(clippy::cast_possible_wrap, reason = "protobuf int64 is the u64's bits")]
    match value {
        Value::Varint(number) => into.push(number as i64),
        Value::Bytes(packed) => {
            let mut numbers = Fields::new(packed);
            while !numbers.rest.is_empty() {
                into.push(numbers.varint()? as i64);
            }
        }
        Value::Fixed32(_) | Value::Fixed64 => return Err(Malformed("a varint field has a fixed-width value")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_in_wire_order_with_their_numbers() {
        // field 1 varint 150; field 2 bytes "hi"; field 3 fixed32 1; field 4 fixed64 2.
        let message = [0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i', 0x1d, 1, 0, 0, 0, 0x21, 2, 0, 0, 0, 0, 0, 0, 0];
        let fields: Vec<(u64, Value<'_>)> = Fields::new(&message).collect::<Result<_, _>>().expect("well formed");
        assert!(matches!(fields[0], (1, Value::Varint(150))));
        assert!(matches!(fields[1], (2, Value::Bytes(b"hi"))));
        assert!(matches!(fields[2], (3, Value::Fixed32(1))));
        assert!(matches!(fields[3], (4, Value::Fixed64)));
        assert_eq!(fields.len(), 4);
    }

    #[test]
    fn truncated_or_unknown_input_is_malformed_and_ends_the_walk() {
        for message in [
            &[0x12, 0x05, b'h'][..],
            &[0x08, 0x96][..],
            &[0x0b][..],
            &[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01][..],
        ] {
            let mut fields = Fields::new(message);
            assert!(fields.next().is_some_and(|field| field.is_err()), "{message:?}");
            assert!(fields.next().is_none());
        }
    }

    #[test]
    fn repeated_int64_reads_packed_and_unpacked() {
        let mut numbers = Vec::new();
        push_varints(Value::Bytes(&[0x03, 0x8e, 0x02]), &mut numbers).expect("packed");
        push_varints(Value::Varint(u64::MAX), &mut numbers).expect("one");
        assert_eq!(numbers, [3, 270, -1]);
    }
}
