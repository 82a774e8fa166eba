/* AML writer: emits ACPI Machine Language (names, packages, devices, methods, resource
 * templates) into a caller-owned, bounded buffer; used to build the DSDT. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A bounded byte writer. Never writes outside buf[0..cap). The first error (-ENOSPC when
 * cap is exceeded, -EINVAL for a malformed name or a misnested close) sticks in err;
 * afterwards every call is a no-op, so callers check err once at the end. */
struct aml {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err;
};

/* An open object with a PkgLength (Scope, Device, Method, Package, Buffer). Objects must
 * be closed in reverse order of opening (closing shifts the bytes written since). */
struct aml_obj {
	size_t start;
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);

/* Data objects. aml_int picks the shortest encoding (Zero, One, Byte/Word/DWord/QWord). */
void aml_int(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EisaId("PNP0501") as a DWord constant; an invalid id sets -EINVAL. */
void aml_eisaid(struct aml *a, const char *id);
/* NameString: "\\_SB.PCI0", "^FOO", "_HID"; segments shorter than 4 chars are padded
 * with '_'. */
void aml_namestring(struct aml *a, const char *path);

/* Name(path, <object>): the caller writes the object next. */
void aml_name(struct aml *a, const char *path);
/* Return(<object>): the caller writes the object next. */
void aml_return(struct aml *a);

/* Open objects; close each with aml_close (aml_buffer_close for buffers). */
struct aml_obj aml_scope(struct aml *a, const char *path);
struct aml_obj aml_device(struct aml *a, const char *path);
struct aml_obj aml_method(struct aml *a, const char *path, unsigned nargs, bool serialized);
struct aml_obj aml_package(struct aml *a, uint8_t nelems);
void aml_close(struct aml *a, struct aml_obj o);
struct aml_obj aml_buffer(struct aml *a);
void aml_buffer_close(struct aml *a, struct aml_obj o);

/* ResourceTemplate(): a Buffer whose close appends the EndTag and its checksum. */
struct aml_obj aml_restemplate(struct aml *a);
void aml_restemplate_close(struct aml *a, struct aml_obj o);
/* IO(Decode16, base, base, 1, len): a fixed 16-bit decoded port range. */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);
/* IRQNoFlags(){irq}: edge-triggered, active-high, exclusive ISA irq 0..15. */
void aml_res_irq_noflags(struct aml *a, unsigned irq);
/* Memory32Fixed(ReadWrite or ReadOnly, base, len) (6.4.3.4): a device's fixed MMIO block. */
void aml_res_mem32_fixed(struct aml *a, bool writable, uint32_t base, uint32_t len);

/* Address space descriptors (6.4.3.5.1-3) for one fixed range [min, max] (_MIF and _MAF
 * set, granularity and translation 0, positive decode). A bridge produces the windows it
 * forwards; a device consumes what it decodes itself. An empty or inverted range, or one
 * whose length does not fit the descriptor's width, sets -EINVAL. */
enum aml_res_use { AML_PRODUCER, AML_CONSUMER };
/* WordBusNumber: the bus numbers below a bridge (always a producer). */
void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max);
/* WordIO, EntireRange (ISA and non-ISA ports): a bridge's I/O window (a producer). */
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max);
/* DWordMemory / QWordMemory: non-cacheable, read-write memory. */
void aml_res_dword_mem(struct aml *a, enum aml_res_use use, uint32_t min, uint32_t max);
void aml_res_qword_mem(struct aml *a, enum aml_res_use use, uint64_t min, uint64_t max);

/* Method bodies. ArgN for n in 0..6 (else -EINVAL). */
void aml_arg(struct aml *a, unsigned n);
/* ToUUID("aabbccdd-eeff-gghh-iijj-kkllmmnnoopp") as a 16-byte Buffer; a malformed string
 * sets -EINVAL. */
void aml_uuid(struct aml *a, const char *uuid);
/* CreateDWordField(Arg<argn>, byte_index, name). */
void aml_create_dword_field(struct aml *a, unsigned argn, uint64_t byte_index, const char *name);
/* If (<predicate>) { <body> }: the caller writes the predicate, then the body, then closes
 * it with aml_close. */
struct aml_obj aml_if(struct aml *a);
/* LNotEqual(<x>, <y>) and Or(<x>, <y>, <target>): the caller writes the operands next. */
void aml_lnotequal(struct aml *a);
void aml_or(struct aml *a);

/* Helpers for the common device shape: Name(name, value). */
void aml_name_int(struct aml *a, const char *path, uint64_t v);
void aml_name_eisaid(struct aml *a, const char *path, const char *id);
/* Method(name, 0, NotSerialized) { Return(v) } */
void aml_method_return_int(struct aml *a, const char *path, uint64_t v);
