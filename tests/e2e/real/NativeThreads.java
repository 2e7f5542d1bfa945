// A JVM whose threads allocate native memory through glibc's malloc, then
// park: tests/e2e/real.sh attaches to it.   java NativeThreads DIR THREADS
// Each thread runs zlib (java.util.zip.Deflater: deflateInit2's state and
// window are malloc'd) and direct buffers (ByteBuffer.allocateDirect:
// Unsafe.allocateMemory is os::malloc), 64 B to 16 KiB, and every 20th of
// 256 to 512 KiB, kept: mmapped chunks, made among the JVM's own anonymous
// mappings (none is freed, so the mmap threshold stays where the JVM left
// it). A share of the small ones is kept, the rest freed at once
// (Deflater.end, Unsafe.invokeCleaner: no GC or Cleaner thread left to free
// them later). When all are done, DIR/ready holds the pid.
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.LockSupport;
import java.util.zip.Deflater;

public class NativeThreads {
	static final List<Object> KEEP = Collections.synchronizedList(new ArrayList<>());
	static sun.misc.Unsafe unsafe;

	static void work(int id) {
		Random r = new Random(id);
		byte[] in = new byte[64 * 1024];
		byte[] out = new byte[96 * 1024];
		for (int i = 0; i < in.length; i++)
			in[i] = (byte) (r.nextInt(16) + 'a');
		for (int i = 0; i < 60; i++) {
			Deflater d = new Deflater(1 + i % 9);
			d.setInput(in, 0, 1024 + r.nextInt(in.length - 1024));
			d.finish();
			while (!d.finished())
				d.deflate(out);
			if (i % 6 == 0)
				KEEP.add(d); // its native state stays allocated
			else
				d.end();
		}
		for (int i = 0; i < 120; i++) {
			boolean big = i % 20 == 0;
			int size = big ? 256 * 1024 + r.nextInt(256 * 1024) : 64 + r.nextInt(16 * 1024);
			ByteBuffer b = ByteBuffer.allocateDirect(size);
			for (int j = 0; j < size; j += 4096)
				b.put(j, (byte) i);
			if (big || i % 4 == 0)
				KEEP.add(b);
			else
				unsafe.invokeCleaner(b); // free(3) now
		}
	}

	public static void main(String[] args) throws Exception {
		Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
		f.setAccessible(true);
		unsafe = (sun.misc.Unsafe) f.get(null);
		Path dir = Paths.get(args[0]);
		int n = Integer.parseInt(args[1]);
		CountDownLatch done = new CountDownLatch(n);
		for (int t = 0; t < n; t++) {
			final int id = t;
			Thread th = new Thread(() -> {
				work(id);
				done.countDown();
				for (;;)
					LockSupport.park();
			}, "native-" + t);
			th.start();
		}
		done.await();
		Thread.sleep(500);
		Path tmp = dir.resolve("ready.tmp");
		Files.writeString(tmp, Long.toString(ProcessHandle.current().pid()));
		Files.move(tmp, dir.resolve("ready"), StandardCopyOption.ATOMIC_MOVE);
		for (;;)
			LockSupport.park();
	}
}
