/*
 * i8042.h — the PS/2 controller: the reset line and a keyboard that presses
 * Ctrl-Alt-Del when the host asks (floor 2).
 *
 * Ports 0x60 (data) and 0x64 (status/command). The controller answers the
 * commands Linux's i8042 driver and reboot code use (read/write the command
 * byte, self tests, port enable/disable, output port, write to the keyboard
 * output buffer); command 0xFE (pulse reset line) and clearing the reset bit
 * through 0xD1 both request a VM reset. The keyboard answers the commands of
 * Linux's atkbd probe the way a present AT keyboard does (ACK, id AB 83,
 * scan code set 2, echo, reset with BAT 0xAA) and presses keys only in
 * i8042_send_ctrl_alt_del(). No mouse is attached.
 *
 * Two byte queues, as in the hardware:
 *   - the keyboard's buffer: bytes the keyboard has still to send (scan
 *     codes and replies to keyboard commands);
 *   - the controller's output buffer: what reads of port 0x60 return, in
 *     order; status bit 0 (OBF) says it is not empty. Controller responses
 *     (self test 0x55, the command byte, ...) are appended to it.
 * The keyboard hands its next byte over only while the output buffer is
 * empty and the keyboard interface is enabled (command byte bit 4 clear;
 * commands 0xAD/0xAE set and clear it): a disabled keyboard keeps its bytes
 * until it is enabled again, and a response to a command never lands behind
 * keyboard bytes that were not yet in the output buffer.
 *
 * IRQ 1 is "output buffer not empty and command byte bit 0 set". The irq
 * callback fires on each rising edge: when a byte arrives in an empty
 * output buffer, when the guest sets bit 0 while data waits, and after each
 * read of port 0x60 that leaves a byte in (or brings the keyboard's next
 * byte to) the output buffer — so an edge-triggered guest takes one
 * interrupt per byte and reads one byte per interrupt, as Linux does.
 *
 * The reset-time command byte is 0x04 (system flag): no translation, so the
 * guest reads set-2 scan codes as sent, and the keyboard interrupt is off
 * until the guest's driver enables it (Linux does in i8042_enable_kbd_port).
 */
#ifndef BRISK_I8042_H
#define BRISK_I8042_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64

/* Capacity of each queue, bytes (Firecracker's i8042 buffer is 16 too). */
#define I8042_QUEUE_SIZE 16

/* A byte ring; its length never exceeds I8042_QUEUE_SIZE, whatever the guest does. */
struct i8042_queue {
	uint8_t buf[I8042_QUEUE_SIZE];
	uint8_t head; /* index of the oldest byte */
	uint8_t len;
};

struct i8042 {
	pthread_mutex_t lock;        /* guards everything below but the callbacks */
	uint8_t ctr;                 /* controller command byte */
	uint8_t pending_cmd;         /* controller command waiting for its data byte, or 0 */
	uint8_t last_out;            /* last byte read from 0x60: what an empty buffer reads */
	bool irq_level;              /* IRQ 1 as last computed */
	struct i8042_queue out;      /* controller output buffer (port 0x60) */
	struct i8042_queue kbd_buf;  /* keyboard bytes not yet handed to the controller */
	uint8_t kbd_pending_cmd;     /* keyboard command waiting for its parameter, or 0 */
	uint8_t kbd_last_sent;       /* the keyboard's last byte, for Resend (0xFE) */
	bool kbd_scanning;           /* keys are reported (0xF5 stops, 0xF4 / 0xFF restart) */
	void (*reset)(void *opaque); /* called once per reset request, vCPU thread */
	void (*irq)(void *opaque);   /* rising edge of IRQ 1; any thread, device unlocked */
	void *opaque;
};

/*
 * i8042_init() - reset state: empty queues, command byte 0x04, keyboard
 * enabled and scanning.
 * @reset: called (unlocked, on the vCPU thread that wrote the port) for each
 *         reset request; may be NULL.
 * @irq:   called for each rising edge of IRQ 1 (see above), with the device
 *         unlocked, on the vCPU thread that accessed a port or the thread
 *         that called i8042_send_ctrl_alt_del(); must not block — the
 *         machine writes the irqfd of GSI 1 — and may be NULL.
 * @opaque: passed to both callbacks.
 */
void i8042_init(struct i8042 *kbd, void (*reset)(void *opaque), void (*irq)(void *opaque),
		void *opaque);
void i8042_destroy(struct i8042 *kbd);

/*
 * i8042_send_ctrl_alt_del() - press and release Ctrl-Alt-Del on the keyboard
 * (Firecracker's SendCtrlAltDel).
 *
 * Queues in the keyboard's buffer the set-2 make codes of Left Ctrl (14),
 * Left Alt (11) and Delete (E0 71), then their break codes (E0 F0 71,
 * F0 11, F0 14): 11 bytes. Linux's keyboard handler acts on the press of
 * Delete while Ctrl and Alt are down (ctrl_alt_del()); the releases leave
 * its shift state clean, so a second request is a second press, not an
 * autorepeat. The bytes reach the guest as it reads port 0x60, with IRQ 1
 * if it enabled the interrupt; a guest that polls status bit 0 gets them too.
 *
 * Any thread (the main loop); takes the device lock; may call the irq
 * callback before returning.
 *
 * Return: 0 when queued (the keyboard interface may still be disabled: the
 * bytes wait for the guest to enable it); -ENOSPC when the keyboard's
 * buffer lacks room for all 11 bytes — an earlier request the guest has
 * not read yet, nothing queued; -EAGAIN when the guest stopped the
 * keyboard's scanning (keyboard command 0xF5) and has not restarted it.
 */
int i8042_send_ctrl_alt_del(struct i8042 *kbd);

/* Bus handlers for 0x60 and 0x64 (1-byte accesses; see bus.h). */
void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
void i8042_cmd_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
