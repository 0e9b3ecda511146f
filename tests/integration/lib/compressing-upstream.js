// A small application server that compresses its HTML the way Express,
// Django or PHP can: node's http and zlib, no packages.  Used by
// tests/integration/23_compressed.t.
//
//     node compressing-upstream.js PORT DOCROOT
//
// GET /ENCODING/NAME answers DOCROOT/NAME as text/html with
// "Content-Encoding: ENCODING" (gzip, x-gzip, deflate, deflate-raw, br,
// zstd, gzip-gzip for two stacked codings, x-unknown), with a
// Content-Length, or chunked in small pieces under /chunked/ENCODING/NAME.
// /gzip/bomb is a gzip bomb: 1 GiB of HTML from about 1 MiB, one stream.
// /gzip/truncated/NAME stops half-way through the compressed stream.
// /identity/NAME is the page uncompressed (no Content-Encoding);
// /identity/cut/NAME announces the whole page's Content-Length, sends
// half of it and closes the connection, as an application that crashes.
// Prints "ready" once it listens.

'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const zlib = require('zlib');

const port = Number(process.argv[2]);
const root = process.argv[3];

function encode(coding, body) {
    switch (coding) {
    case 'gzip':
    case 'x-gzip':
        return zlib.gzipSync(body);
    case 'deflate':
        return zlib.deflateSync(body);
    case 'deflate-raw':
        return zlib.deflateRawSync(body);
    case 'br':
        return zlib.brotliCompressSync(body);
    case 'gzip-gzip':
        return zlib.gzipSync(zlib.gzipSync(body));
    case 'identity':
        return body;
    default:
        // zstd and unknown codings: bytes the module cannot read anyway
        return Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), body]);
    }
}

const header = {
    'deflate-raw': 'deflate',
    'gzip-gzip': 'gzip, gzip'
};

// the bomb: a page whose tracker comes after 1 GiB of blanks, in 1024 gzip
// members of 1 MiB each (RFC 1952 allows several; browsers and nginx's
// gunzip read them all): about 1 MiB, made at once
function bomb(done) {
    const blank = zlib.gzipSync(Buffer.alloc(1 << 20, 0x20), { level: 9 });
    const parts = [zlib.gzipSync('<!DOCTYPE html><html><head><title>bomb'
        + '</title><script async src="https://www.googletagmanager.com/gtag/'
        + 'js?id=G-BOMB"></script></head><body><p>')];

    for (let i = 0; i < 1024; i++) {
        parts.push(blank);
    }

    parts.push(zlib.gzipSync('<script src="https://connect.facebook.net/en_US'
        + '/fbevents.js"></script></p></body></html>'));

    done(Buffer.concat(parts));
}

bomb((bombBody) => {
    const server = http.createServer((req, res) => {
        let parts = req.url.split('/').filter((s) => s.length);
        let chunked = false;
        let truncated = false;
        let cut = false;

        if (parts[0] === 'chunked') {
            chunked = true;
            parts = parts.slice(1);
        }

        const coding = parts[0];

        if (parts[1] === 'truncated') {
            truncated = true;
            parts = [coding].concat(parts.slice(2));

        } else if (parts[1] === 'cut') {
            cut = true;
            parts = [coding].concat(parts.slice(2));
        }

        let body;

        if (parts[1] === 'bomb') {
            body = bombBody;

        } else {
            const file = path.join(root, path.basename(parts[1] || ''));
            if (!fs.existsSync(file)) {
                res.writeHead(404, { 'Content-Type': 'text/plain' });
                res.end('not found\n');
                return;
            }
            body = encode(coding, fs.readFileSync(file));
        }

        if (truncated) {
            body = body.subarray(0, body.length >> 1);
        }

        const h = {
            'Content-Type': 'text/html; charset=utf-8',
            'X-Upstream-Saw': req.headers['accept-encoding'] || '(none)'
        };

        if (coding !== 'identity') {
            h['Content-Encoding'] = header[coding] || coding;
        }

        if (cut) {
            h['Content-Length'] = body.length;
            res.writeHead(200, h);
            res.write(body.subarray(0, body.length >> 1), () => {
                setTimeout(() => res.socket.destroy(), 100);
            });
            return;
        }

        if (!chunked) {
            h['Content-Length'] = body.length;
            res.writeHead(200, h);
            res.end(req.method === 'HEAD' ? undefined : body);
            return;
        }

        res.writeHead(200, h);

        if (req.method === 'HEAD') {
            res.end();
            return;
        }

        // small pieces, each its own chunk
        for (let off = 0; off < body.length; off += 100) {
            res.write(body.subarray(off, Math.min(off + 100, body.length)));
        }
        res.end();
    });

    server.listen(port, '127.0.0.1', () => {
        process.stdout.write('ready\n');
    });
});
