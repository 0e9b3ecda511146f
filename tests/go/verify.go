// consent-verify: an independent check of nginx-consent's consent log
// with Go's own transparency-log packages, golang.org/x/mod/sumdb/note
// (signed notes) and golang.org/x/mod/sumdb/tlog (RFC 6962 trees), as
// Debian's golang-golang-x-mod-dev ships them. It shares no code with the
// module or consent-audit.
//
//	consent-verify VKEY checkpoint FILE
//	    FILE is a signed checkpoint (P+checkpoint): its signature by VKEY,
//	    and its three lines.
//	consent-verify VKEY proof FILE
//	    FILE is a c2sp.org/tlog-proof@v1 (P+receipt, consent-audit prove):
//	    the checkpoint's signature, then the record's inclusion in it.
//	consent-verify VKEY log LOG HASHES
//	    every record line of LOG (one file, from seq 1) hashed into a tree
//	    with tlog.StoredHashes; each checkpoint line's root must be
//	    tlog.TreeHash of its size, and HASHES (the module's hash file)
//	    must hold exactly tlog's stored hashes.
//
// Exit status 0 when all holds; it prints what it checked.
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

func openCheckpoint(vkey string, msg []byte) (checkpoint, error) {
	var c checkpoint
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return c, fmt.Errorf("verifier key: %v", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return c, fmt.Errorf("note: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return c, errors.New("checkpoint: not three lines")
	}
	c.origin = lines[0]
	if c.origin != v.Name() {
		return c, fmt.Errorf("checkpoint: origin %q, key %q", c.origin, v.Name())
	}
	c.size, err = strconv.ParseInt(lines[1], 10, 64)
	if err != nil || c.size < 0 || strconv.FormatInt(c.size, 10) != lines[1] {
		return c, fmt.Errorf("checkpoint: size %q", lines[1])
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		return c, fmt.Errorf("checkpoint: root %q", lines[2])
	}
	copy(c.root[:], raw)
	return c, nil
}

func checkProof(vkey string, data []byte) error {
	i := bytes.Index(data, []byte("\n\n"))
	if i < 0 {
		return errors.New("proof: no empty line before the checkpoint")
	}
	head := strings.Split(string(data[:i]), "\n")
	if len(head) < 3 || head[0] != "c2sp.org/tlog-proof@v1" {
		return errors.New("proof: not c2sp.org/tlog-proof@v1")
	}
	if !strings.HasPrefix(head[1], "extra ") {
		return errors.New("proof: no extra line")
	}
	leaf, err := base64.StdEncoding.DecodeString(head[1][6:])
	if err != nil {
		return fmt.Errorf("proof: extra: %v", err)
	}
	if !strings.HasPrefix(head[2], "index ") {
		return errors.New("proof: no index line")
	}
	index, err := strconv.ParseInt(head[2][6:], 10, 64)
	if err != nil {
		return fmt.Errorf("proof: index: %v", err)
	}
	var path tlog.RecordProof
	for _, l := range head[3:] {
		raw, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(raw) != tlog.HashSize {
			return fmt.Errorf("proof: hash %q", l)
		}
		var h tlog.Hash
		copy(h[:], raw)
		path = append(path, h)
	}
	c, err := openCheckpoint(vkey, data[i+2:])
	if err != nil {
		return err
	}
	if err := tlog.CheckRecord(path, c.size, c.root, index, tlog.RecordHash(leaf)); err != nil {
		return fmt.Errorf("proof: record %d in tree of %d: %v", index, c.size, err)
	}
	var rec map[string]interface{}
	if err := json.Unmarshal(leaf, &rec); err != nil {
		return fmt.Errorf("proof: the record is not JSON: %v", err)
	}
	fmt.Printf("OK: record %d (consent id %v, %v) is in %s's tree of %d records\n",
		index, rec["id"], rec["action"], c.origin, c.size)
	return nil
}

// the stored hashes, in memory, for tlog
type hashes []tlog.Hash

func (h *hashes) ReadHashes(index []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(index))
	for i, x := range index {
		if x < 0 || x >= int64(len(*h)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = (*h)[x]
	}
	return out, nil
}

func checkLog(vkey, logFile, hashFile string) error {
	f, err := os.Open(logFile)
	if err != nil {
		return err
	}
	defer f.Close()
	var stored hashes
	var n int64
	checkpoints := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for line := 1; sc.Scan(); line++ {
		var rec struct {
			Type string `json:"type"`
			Seq  int64  `json:"seq"`
			Note string `json:"note"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return fmt.Errorf("%s:%d: %v", logFile, line, err)
		}
		if rec.Type == "checkpoint" {
			c, err := openCheckpoint(vkey, []byte(rec.Note))
			if err != nil {
				return fmt.Errorf("%s:%d: %v", logFile, line, err)
			}
			if c.size != n {
				return fmt.Errorf("%s:%d: checkpoint of %d after %d records", logFile, line, c.size, n)
			}
			if n > 0 {
				root, err := tlog.TreeHash(n, &stored)
				if err != nil {
					return err
				}
				if root != c.root {
					return fmt.Errorf("%s:%d: root %v, tlog says %v", logFile, line, c.root, root)
				}
			}
			checkpoints++
			continue
		}
		if rec.Seq != n+1 {
			return fmt.Errorf("%s:%d: seq %d, expected %d", logFile, line, rec.Seq, n+1)
		}
		add, err := tlog.StoredHashes(n, sc.Bytes(), &stored)
		if err != nil {
			return err
		}
		stored = append(stored, add...)
		n++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if checkpoints == 0 {
		return errors.New("no checkpoint in the log")
	}
	if hashFile != "" {
		data, err := os.ReadFile(hashFile)
		if err != nil {
			return err
		}
		if int64(len(data)) != int64(len(stored))*tlog.HashSize {
			return fmt.Errorf("%s: %d bytes, tlog stores %d hashes", hashFile, len(data), len(stored))
		}
		for i, h := range stored {
			if !bytes.Equal(data[i*tlog.HashSize:(i+1)*tlog.HashSize], h[:]) {
				return fmt.Errorf("%s: hash %d differs from tlog's", hashFile, i)
			}
		}
	}
	fmt.Printf("OK: %d records, %d checkpoints, every root as tlog computes it; %d stored hashes as tlog stores them\n",
		n, checkpoints, len(stored))
	return nil
}

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: consent-verify VKEY checkpoint|proof FILE | VKEY log LOG [HASHES]")
		os.Exit(2)
	}
	vkey, mode := os.Args[1], os.Args[2]
	var err error
	switch mode {
	case "checkpoint":
		var data []byte
		if data, err = os.ReadFile(os.Args[3]); err == nil {
			var c checkpoint
			if c, err = openCheckpoint(vkey, data); err == nil {
				fmt.Printf("OK: checkpoint of %s, %d records, root %v\n", c.origin, c.size, c.root)
			}
		}
	case "proof":
		var data []byte
		if data, err = os.ReadFile(os.Args[3]); err == nil {
			err = checkProof(vkey, data)
		}
	case "log":
		hashFile := ""
		if len(os.Args) > 4 {
			hashFile = os.Args[4]
		}
		err = checkLog(vkey, os.Args[3], hashFile)
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fmt.Println("FAILED:", err)
		os.Exit(1)
	}
}
