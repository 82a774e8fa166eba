/* X11 keysyms (what VNC and the window send) to PC keyboard scancodes, set 1 (what the i8042
 * hands a guest when its translation is on, as every PC OS leaves it). The map is for the US
 * layout: a keysym names the key that carries it on a US keyboard (docs/display.md). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#define KEYMAP_MAX_BYTES 4

/* Writes the make (down) or break (up) bytes of keysym into out; returns how many (0: no key
 * carries this keysym on a US keyboard). */
unsigned keymap_scancode(uint32_t keysym, bool down, uint8_t out[KEYMAP_MAX_BYTES]);
/* The USB HID usage (Keyboard/Keypad page) of the key that carries keysym on a US keyboard, for
 * the USB keyboard; 0 when none does. */
uint8_t keymap_usb(uint32_t keysym);
