// The guest's sound in a console page: the VMM's browser console (phyllome-vmm serves this file
// from memory as /sound.js) and the desktop app's console (`phyllome ui` serves it from data/ui,
// and passes /api/vms/VM/audio through to the VMM); the other end is src/ui/vnc_gate_audio.c. A WebSocket on /audio passes the same RFB handshake and password as
// the screen's, then only receives binary messages: 0x01, the rate (u32 LE) and channel count
// (u8) of what follows; 0x02, S16LE interleaved frames as the guest plays them. They are played
// with Web Audio a little ahead of the audio clock. window.phyllomeSound says what arrived
// (tests read it): frames, and of the frames that were not silent, their count and the zero
// crossings of the channels' sum (a tone's frequency is crossings / 2 / (loud / rate)).
import DES from './novnc/core/des.js';

const LEAD = 0.1; // seconds of sound queued ahead of the audio clock
const LOUD = 1000; // a message whose peak is above this is not silence

function concat(a, b) {
    const r = new Uint8Array(a.length + b.length);

    r.set(a);
    r.set(b, a.length);
    return r;
}

// url: the WebSocket's address; password(): the console's password ('' for none);
// button: the mute button (shown once sound streams). Returns the stream's state, whose close()
// ends it.
export function startSound(url, password, button) {
    const st = {state: 'connecting', rate: 0, channels: 0, frames: 0, loud: 0, crossings: 0,
        peak: 0, muted: false, restarts: 0};
    let ctx = null, gain = null, next = 0, last = 0, hs = 'version', buf = new Uint8Array(0);
    const ws = new WebSocket(url);

    window.phyllomeSound = st;
    ws.binaryType = 'arraybuffer';

    function take(n) {
        const r = buf.slice(0, n);

        buf = buf.slice(n);
        return r;
    }

    function fail(why) {
        st.state = why;
        ws.close();
    }

    function showButton() {
        button.hidden = false;
        button.textContent = st.muted ? 'Sound: off' : 'Sound: on';
        button.setAttribute('aria-pressed', String(!st.muted));
    }

    // The audio clock runs once the page has had a click or a key (the browser's rule).
    function wake() {
        if (ctx && ctx.state === 'suspended')
            ctx.resume();
    }

    function setup() {
        if (ctx)
            return;
        try {
            ctx = new AudioContext();
            gain = ctx.createGain();
            gain.connect(ctx.destination);
        } catch (e) {
            ctx = null; // no audio output here: the stream is still counted
            return;
        }
        for (const ev of ['pointerdown', 'keydown'])
            document.addEventListener(ev, wake, true);
        wake();
    }

    function play(chans, n) {
        if (!ctx || st.muted)
            return;
        const b = ctx.createBuffer(st.channels, n, st.rate);

        chans.forEach((c, i) => b.copyToChannel(c, i));
        const src = ctx.createBufferSource();

        src.buffer = b;
        src.connect(gain);
        if (next < ctx.currentTime + 0.02 || next > ctx.currentTime + 1) {
            next = ctx.currentTime + LEAD; // late, or a clock that stood still: start afresh
            st.restarts++;
        }
        src.start(next);
        next += n / st.rate;
    }

    function samples(d) {
        const ch = st.channels, n = Math.floor((d.length - 1) / 2 / ch);
        const v = new DataView(d.buffer, d.byteOffset + 1, n * 2 * ch);
        const chans = Array.from({length: ch}, () => new Float32Array(n));
        let peak = 0, crossings = 0;

        for (let i = 0; i < n; i++) {
            let sum = 0;

            for (let c = 0; c < ch; c++) {
                const s = v.getInt16((i * ch + c) * 2, true);

                chans[c][i] = s / 32768;
                sum += s;
            }
            peak = Math.max(peak, Math.abs(sum));
            if ((sum >= 0) !== (last >= 0))
                crossings++;
            last = sum;
        }
        st.frames += n;
        st.peak = Math.max(st.peak, peak);
        if (peak > LOUD) {
            st.loud += n;
            st.crossings += crossings;
        }
        play(chans, n);
    }

    function message(d) {
        if (d[0] === 1 && d.length >= 6) {
            st.rate = (d[1] | d[2] << 8 | d[3] << 16 | d[4] << 24) >>> 0;
            st.channels = d[5];
            next = 0;
            setup();
        } else if (d[0] === 2 && st.channels && st.rate) {
            samples(d);
        }
    }

    function handshake() {
        for (;;) {
            if (hs === 'version') {
                if (buf.length < 12)
                    return;
                take(12);
                ws.send(new TextEncoder().encode('RFB 003.008\n'));
                hs = 'types';
            } else if (hs === 'types') {
                if (buf.length < 1 || buf.length < 1 + buf[0])
                    return;
                const types = Array.from(take(1 + buf[0]).slice(1));

                if (types.includes(1)) {
                    ws.send(Uint8Array.of(1));
                    hs = 'result';
                } else if (types.includes(2)) {
                    ws.send(Uint8Array.of(2));
                    hs = 'challenge';
                } else {
                    fail('refused');
                    return;
                }
            } else if (hs === 'challenge') {
                if (buf.length < 16)
                    return;
                const key = Array.from(password(), (c) => c.charCodeAt(0) & 0xff);

                ws.send(Uint8Array.from(new DES(key).encrypt(Array.from(take(16)))));
                hs = 'result';
            } else if (hs === 'result') {
                if (buf.length < 4)
                    return;
                if (take(4).some((x) => x)) {
                    fail('refused');
                    return;
                }
                hs = 'streaming';
                st.state = 'streaming';
                showButton();
                return;
            } else {
                return;
            }
        }
    }

    ws.onmessage = (ev) => {
        const d = new Uint8Array(ev.data);

        if (hs === 'streaming') {
            message(d);
            return;
        }
        buf = concat(buf, d);
        handshake();
    };
    ws.onclose = () => {
        if (st.state === 'streaming' || st.state === 'connecting')
            st.state = 'closed';
        button.hidden = true;
    };
    button.onclick = () => {
        st.muted = !st.muted;
        if (gain)
            gain.gain.value = st.muted ? 0 : 1;
        next = 0;
        wake();
        showButton();
    };
    // The page leaves the console: the stream and the audio clock end.
    st.close = () => {
        ws.onclose = null;
        ws.close();
        button.hidden = true;
        button.onclick = null;
        if (ctx)
            ctx.close();
        st.state = 'closed';
    };
    return st;
}
